// CUDA-EP wrapper of SparseMlaAttention: the CPU wrapper's inputs and validation; batch inputs in CPU memory,
// topk_indices (produced by the indexer on the GPU) stays on the device.
#include <vector>

#include "common/sparse_mla_validation.h"
#include "cuda/ort/cuda_kernel_support.h"
#include "cuda/ort/cuda_op_registry.h"
#include "cuda/sparse_mla_attention_cuda.h"
#include "glm_ops/op_names.h"
#include "ort/op_inputs.h"

namespace glm_ops::ort::cuda_ep {

namespace {

constexpr const char* kOp = kSparseMlaAttentionName;
constexpr size_t kTopkInput = 8;

struct SparseMlaCudaKernel {
  SparseMlaAttributes attributes;

  OrtStatusPtr ComputeV2(OrtKernelContext* raw_context) {
    return Guarded([&] {
      Ort::KernelContext context(raw_context);
      const auto [ql, qr, kv, kr, pool, topk, in] = ReadSparseMlaInputs(context);
      const SparseMlaShape shape = ValidateSparseMla(in, attributes);
      auto out = context.GetOutput(0, std::vector<int64_t>{shape.tokens, shape.n_heads, shape.kv_lora_rank});
      if (shape.tokens == 0) return;
      CheckPoolOnDevice(kOp, "latent_pool", pool);
      Scratch scratch(context, pool, cuda::SparseMlaAttentionWorkspaceBytes(shape));
      cuda::SparseMlaAttention(shape, cuda::Activation::kFloat32, ql.GetTensorRawData(), qr.GetTensorRawData(),
                               kv.GetTensorRawData(), kr.GetTensorRawData(), const_cast<void*>(pool.GetTensorRawData()),
                               in.has_topk ? topk.GetTensorData<int32_t>() : nullptr,
                               out.GetTensorMutableData<float>(), scratch.data(), scratch.bytes(),
                               ComputeStream(context));
    });
  }
};

struct SparseMlaCudaOp : Ort::CustomOpBase<SparseMlaCudaOp, SparseMlaCudaKernel, true> {
  OrtStatusPtr CreateKernelV2(const OrtApi&, const OrtKernelInfo* info, void** kernel) const {
    return Guarded([&] {
      *kernel = new SparseMlaCudaKernel{ReadSparseMlaAttributes(info)};
    });
  }
  const char* GetName() const { return kOp; }
  const char* GetExecutionProviderType() const { return kProvider; }
  size_t GetInputTypeCount() const { return 9; }
  ONNXTensorElementDataType GetInputType(size_t index) const {
    return index < 5 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT : ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
  }
  OrtMemType GetInputMemoryType(size_t index) const {
    return index >= 5 && index < kTopkInput ? OrtMemTypeCPUInput : OrtMemTypeDefault;
  }
  OrtCustomOpInputOutputCharacteristic GetInputCharacteristic(size_t index) const {
    return index == kTopkInput ? OrtCustomOpInputOutputCharacteristic::INPUT_OUTPUT_OPTIONAL
                               : OrtCustomOpInputOutputCharacteristic::INPUT_OUTPUT_REQUIRED;
  }
  size_t GetOutputTypeCount() const { return 1; }
  ONNXTensorElementDataType GetOutputType(size_t) const { return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT; }
};

}  // namespace

const OrtCustomOp* SparseMlaAttentionCudaOp() {
  static const SparseMlaCudaOp op;
  return &op;
}

}  // namespace glm_ops::ort::cuda_ep
