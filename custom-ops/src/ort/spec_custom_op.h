// One OrtCustomOp filler for every op and both execution providers: name, input/output types, optional flags and
// (on CUDA) host-memory inputs all come from the op's table in common/op_specs.h, so the CPU wrappers (src/ort) and
// the CUDA-EP wrappers (src/cuda/ort) cannot declare an op differently. A wrapper supplies only its attribute reader
// and its compute function: DeclareOp<Attributes, Read, Compute>(spec, provider).
#pragma once

#include "common/op_specs.h"
#include "ort/kernel_support.h"
#include "ort/ort_api.h"

namespace glm_ops::ort {

ONNXTensorElementDataType ToOnnxType(DType type);

// The type ORT is told about: the single admitted type, or "undefined" (any type; the op's validation checks the
// set) when several are admitted.
ONNXTensorElementDataType DeclaredType(const TensorSpec& tensor);

template <typename Kernel>
class SpecCustomOp : public Ort::CustomOpBase<SpecCustomOp<Kernel>, Kernel, true> {
 public:
  // provider: nullptr for the CPU execution provider, else e.g. "CUDAExecutionProvider".
  SpecCustomOp(const OpSpec& spec, const char* provider) : spec_(spec), provider_(provider) {}

  OrtStatusPtr CreateKernelV2(const OrtApi&, const OrtKernelInfo* info, void** kernel) const {
    return Guarded([&] { *kernel = new Kernel(info); });
  }
  const char* GetName() const { return spec_.name.data(); }
  const char* GetExecutionProviderType() const { return provider_; }
  size_t GetInputTypeCount() const { return spec_.inputs.size(); }
  ONNXTensorElementDataType GetInputType(size_t index) const { return DeclaredType(spec_.inputs[index]); }
  OrtCustomOpInputOutputCharacteristic GetInputCharacteristic(size_t index) const {
    return spec_.inputs[index].optional ? OrtCustomOpInputOutputCharacteristic::INPUT_OUTPUT_OPTIONAL
                                        : OrtCustomOpInputOutputCharacteristic::INPUT_OUTPUT_REQUIRED;
  }
  OrtMemType GetInputMemoryType(size_t index) const {
    // CPU kernels get host memory anyway; a device kernel gets the inputs its validation must read on the host.
    return provider_ && spec_.inputs[index].cuda_memory == Memory::kHost ? OrtMemTypeCPUInput : OrtMemTypeDefault;
  }
  size_t GetOutputTypeCount() const { return spec_.outputs.size(); }
  ONNXTensorElementDataType GetOutputType(size_t index) const { return DeclaredType(spec_.outputs[index]); }
  OrtCustomOpInputOutputCharacteristic GetOutputCharacteristic(size_t index) const {
    return spec_.outputs[index].optional ? OrtCustomOpInputOutputCharacteristic::INPUT_OUTPUT_OPTIONAL
                                         : OrtCustomOpInputOutputCharacteristic::INPUT_OUTPUT_REQUIRED;
  }

 private:
  const OpSpec& spec_;
  const char* provider_;
};

// A kernel instance: the attributes, read once when the session creates the kernel, and the compute function;
// exceptions from either become an OrtStatus (InputError -> ORT_INVALID_ARGUMENT).
template <typename Attributes, Attributes (*Read)(const OrtKernelInfo*),
          void (*Compute)(const Attributes&, Ort::KernelContext&)>
struct SpecKernel {
  explicit SpecKernel(const OrtKernelInfo* info) : attributes(Read(info)) {}

  OrtStatusPtr ComputeV2(OrtKernelContext* raw_context) {
    return Guarded([&] {
      Ort::KernelContext context(raw_context);
      Compute(attributes, context);
    });
  }

  const Attributes attributes;
};

// The op's one instance for `provider` (nullptr: CPU); ORT keeps the pointer for the life of every session.
template <typename Attributes, Attributes (*Read)(const OrtKernelInfo*),
          void (*Compute)(const Attributes&, Ort::KernelContext&)>
const OrtCustomOp* DeclareOp(const OpSpec& spec, const char* provider) {
  static const SpecCustomOp<SpecKernel<Attributes, Read, Compute>> op(spec, provider);
  return &op;
}

}  // namespace glm_ops::ort
