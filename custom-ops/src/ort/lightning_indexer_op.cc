// ORT wrapper of LightningIndexer (docs/onnx-contract.md). index_pool is written in place through the pointer ORT
// hands us for the graph input; it is not an output.
#include <vector>

#include "common/lightning_indexer_validation.h"
#include "cpu/lightning_indexer.h"
#include "glm_ops/op_names.h"
#include "ort/op_inputs.h"
#include "ort/kernel_support.h"
#include "ort/op_registry.h"

namespace glm_ops::ort {

namespace {

constexpr const char* kOp = kLightningIndexerName;

struct LightningIndexerKernel {
  LightningIndexerAttributes attributes;

  OrtStatusPtr ComputeV2(OrtKernelContext* raw_context) {
    return Guarded([&] {
      Ort::KernelContext context(raw_context);
      const auto [q, k, w, pool, in] = ReadLightningIndexerInputs(context);
      const LightningIndexerShape shape = ValidateLightningIndexer(in, attributes);
      auto out = context.GetOutput(0, std::vector<int64_t>{shape.tokens, shape.index_topk});
      if (shape.tokens == 0) return;
      // The pool is a graph input the runtime owns and binds once; the contract makes this op its writer.
      float* pool_data = const_cast<float*>(pool.GetTensorData<float>());
      cpu::LightningIndexer(shape, q.GetTensorData<float>(), k.GetTensorData<float>(), w.GetTensorData<float>(),
                            pool_data, out.GetTensorMutableData<int32_t>());
    });
  }
};

struct LightningIndexerOp : Ort::CustomOpBase<LightningIndexerOp, LightningIndexerKernel, true> {
  OrtStatusPtr CreateKernelV2(const OrtApi&, const OrtKernelInfo* info, void** kernel) const {
    return Guarded([&] {
      *kernel = new LightningIndexerKernel{ReadLightningIndexerAttributes(info)};
    });
  }
  const char* GetName() const { return kOp; }
  size_t GetInputTypeCount() const { return 7; }
  ONNXTensorElementDataType GetInputType(size_t index) const {
    return index < 4 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT : ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
  }
  size_t GetOutputTypeCount() const { return 1; }
  ONNXTensorElementDataType GetOutputType(size_t) const { return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32; }
};

}  // namespace

const OrtCustomOp* LightningIndexerCpuOp() {
  static const LightningIndexerOp op;
  return &op;
}

}  // namespace glm_ops::ort
