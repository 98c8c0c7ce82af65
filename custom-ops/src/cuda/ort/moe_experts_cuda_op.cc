// CUDA-EP wrapper of MoeExperts: validation as the CPU wrapper. expert_ids stay on the device (they come from
// MoeRouting on the GPU): the kernel skips and counts ids outside [0, n_experts) instead of reading out of bounds;
// with GLM_OPS_CUDA_DEBUG_CHECKS=1 the ids are also copied to the host and checked like the CPU op does.
#include <vector>

#include "common/moe_experts_validation.h"
#include "cuda/cuda_check.h"
#include "cuda/moe_experts_cuda.h"
#include "cuda/ort/cuda_kernel_support.h"
#include "cuda/ort/cuda_op_registry.h"
#include "glm_ops/op_names.h"

namespace glm_ops::ort::cuda_ep {

namespace {

constexpr const char* kOp = kMoeExpertsName;

struct MoeExpertsCudaKernel {
  MoeExpertsAttributes attributes;

  OrtStatusPtr ComputeV2(OrtKernelContext* raw_context) {
    return Guarded([&] {
      Ort::KernelContext context(raw_context);
      Ort::ConstValue hidden = context.GetInput(0), ids = context.GetInput(1), weights = context.GetInput(2);
      Ort::ConstValue gate = context.GetInput(3), up = context.GetInput(4), down = context.GetInput(5);
      Ort::ConstValue gate_scales = OptionalInput(context, 6), up_scales = OptionalInput(context, 7);
      Ort::ConstValue down_scales = OptionalInput(context, 8);
      MoeExpertsInputs in;
      in.hidden = Describe(hidden);
      in.expert_ids = Describe(ids);
      in.expert_weights = Describe(weights);
      in.gate_weights = Describe(gate);
      in.up_weights = Describe(up);
      in.down_weights = Describe(down);
      in.has_gate_scales = gate_scales != nullptr;
      in.has_up_scales = up_scales != nullptr;
      in.has_down_scales = down_scales != nullptr;
      if (in.has_gate_scales) in.gate_scales = Describe(gate_scales);
      if (in.has_up_scales) in.up_scales = Describe(up_scales);
      if (in.has_down_scales) in.down_scales = Describe(down_scales);
      const MoeExpertsShape shape = ValidateMoeExperts(in, attributes);
      auto out = context.GetOutput(0, std::vector<int64_t>{shape.tokens, shape.hidden});
      if (shape.tokens == 0) return;
      const cudaStream_t stream = ComputeStream(context);
      if (DebugChecksEnabled()) {
        std::vector<int32_t> host(static_cast<size_t>(shape.tokens * shape.top_k));
        GLM_CUDA_CHECK(cudaMemcpyAsync(host.data(), ids.GetTensorData<int32_t>(), host.size() * sizeof(int32_t),
                                       cudaMemcpyDeviceToHost, stream));
        GLM_CUDA_CHECK(cudaStreamSynchronize(stream));
        CheckExpertIds(shape, host.data());
      }
      const bool fp8 = shape.format == ExpertWeightFormat::kFloat8E4M3;
      const cuda::DeviceExpertWeights w{gate.GetTensorRawData(),
                                        up.GetTensorRawData(),
                                        down.GetTensorRawData(),
                                        fp8 ? gate_scales.GetTensorData<float>() : nullptr,
                                        fp8 ? up_scales.GetTensorData<float>() : nullptr,
                                        fp8 ? down_scales.GetTensorData<float>() : nullptr};
      Scratch scratch(context, hidden, cuda::MoeExpertsWorkspaceBytes(shape));
      cuda::MoeExperts(shape, cuda::Activation::kFloat32, hidden.GetTensorRawData(), ids.GetTensorData<int32_t>(),
                       weights.GetTensorData<float>(), w, out.GetTensorMutableData<float>(), scratch.data(),
                       scratch.bytes(), stream);
    });
  }
};

struct MoeExpertsCudaOpDef : Ort::CustomOpBase<MoeExpertsCudaOpDef, MoeExpertsCudaKernel, true> {
  OrtStatusPtr CreateKernelV2(const OrtApi&, const OrtKernelInfo* info, void** kernel) const {
    return Guarded([&] {
      MoeExpertsAttributes a;
      a.quant_block_size = IntAttribute(info, "quant_block_size", 128);
      ValidateMoeExpertsAttributes(a);
      *kernel = new MoeExpertsCudaKernel{a};
    });
  }
  const char* GetName() const { return kOp; }
  const char* GetExecutionProviderType() const { return kProvider; }
  size_t GetInputTypeCount() const { return 9; }
  ONNXTensorElementDataType GetInputType(size_t index) const {
    if (index == 1) return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
    if (index >= 3 && index <= 5) return ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  }
  OrtCustomOpInputOutputCharacteristic GetInputCharacteristic(size_t index) const {
    return index >= 6 ? OrtCustomOpInputOutputCharacteristic::INPUT_OUTPUT_OPTIONAL
                      : OrtCustomOpInputOutputCharacteristic::INPUT_OUTPUT_REQUIRED;
  }
  size_t GetOutputTypeCount() const { return 1; }
  ONNXTensorElementDataType GetOutputType(size_t) const { return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT; }
};

}  // namespace

const OrtCustomOp* MoeExpertsCudaOp() {
  static const MoeExpertsCudaOpDef op;
  return &op;
}

}  // namespace glm_ops::ort::cuda_ep
