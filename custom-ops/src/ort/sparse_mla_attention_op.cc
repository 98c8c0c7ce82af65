// ORT wrapper of SparseMlaAttention (docs/onnx-contract.md). latent_pool is written in place through the pointer
// ORT hands us for the graph input; topk_indices is optional.
#include <vector>

#include "common/sparse_mla_validation.h"
#include "cpu/sparse_mla_attention.h"
#include "glm_ops/op_names.h"
#include "ort/op_inputs.h"
#include "ort/kernel_support.h"
#include "ort/op_registry.h"

namespace glm_ops::ort {

namespace {

constexpr const char* kOp = kSparseMlaAttentionName;
constexpr size_t kTopkInput = 8;

struct SparseMlaKernel {
  SparseMlaAttributes attributes;

  OrtStatusPtr ComputeV2(OrtKernelContext* raw_context) {
    return Guarded([&] {
      Ort::KernelContext context(raw_context);
      const auto [ql, qr, kv, kr, pool, topk, in] = ReadSparseMlaInputs(context);
      const SparseMlaShape shape = ValidateSparseMla(in, attributes);
      auto out = context.GetOutput(0, std::vector<int64_t>{shape.tokens, shape.n_heads, shape.kv_lora_rank});
      if (shape.tokens == 0) return;
      float* pool_data = const_cast<float*>(pool.GetTensorData<float>());  // in-place by contract
      cpu::SparseMlaAttention(shape, ql.GetTensorData<float>(), qr.GetTensorData<float>(), kv.GetTensorData<float>(),
                              kr.GetTensorData<float>(), pool_data,
                              in.has_topk ? topk.GetTensorData<int32_t>() : nullptr,
                              out.GetTensorMutableData<float>());
    });
  }
};

struct SparseMlaOp : Ort::CustomOpBase<SparseMlaOp, SparseMlaKernel, true> {
  OrtStatusPtr CreateKernelV2(const OrtApi&, const OrtKernelInfo* info, void** kernel) const {
    return Guarded([&] {
      *kernel = new SparseMlaKernel{ReadSparseMlaAttributes(info)};
    });
  }
  const char* GetName() const { return kOp; }
  size_t GetInputTypeCount() const { return 9; }
  ONNXTensorElementDataType GetInputType(size_t index) const {
    return index < 5 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT : ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
  }
  OrtCustomOpInputOutputCharacteristic GetInputCharacteristic(size_t index) const {
    return index == kTopkInput ? OrtCustomOpInputOutputCharacteristic::INPUT_OUTPUT_OPTIONAL
                               : OrtCustomOpInputOutputCharacteristic::INPUT_OUTPUT_REQUIRED;
  }
  size_t GetOutputTypeCount() const { return 1; }
  ONNXTensorElementDataType GetOutputType(size_t) const { return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT; }
};

}  // namespace

const OrtCustomOp* SparseMlaAttentionCpuOp() {
  static const SparseMlaOp op;
  return &op;
}

}  // namespace glm_ops::ort
