// CUDA-EP wrapper of LightningIndexer: same op name, inputs and validation as the CPU wrapper; the batch inputs
// (cumulative_sequence_lengths, past_sequence_lengths, block_table) are requested in CPU memory because validation
// reads them and the scheduler produces them on the host anyway; the kernel uploads them on the compute stream.
#include <vector>

#include "common/lightning_indexer_validation.h"
#include "cuda/lightning_indexer_cuda.h"
#include "cuda/ort/cuda_kernel_support.h"
#include "cuda/ort/cuda_op_registry.h"
#include "glm_ops/op_names.h"
#include "ort/op_inputs.h"

namespace glm_ops::ort::cuda_ep {

namespace {

constexpr const char* kOp = kLightningIndexerName;

struct LightningIndexerCudaKernel {
  LightningIndexerAttributes attributes;

  OrtStatusPtr ComputeV2(OrtKernelContext* raw_context) {
    return Guarded([&] {
      Ort::KernelContext context(raw_context);
      const auto [q, k, w, pool, in] = ReadLightningIndexerInputs(context);
      const LightningIndexerShape shape = ValidateLightningIndexer(in, attributes);
      auto out = context.GetOutput(0, std::vector<int64_t>{shape.tokens, shape.index_topk});
      if (shape.tokens == 0) return;
      CheckPoolOnDevice(kOp, "index_pool", pool);
      Scratch scratch(context, pool, cuda::LightningIndexerWorkspaceBytes(shape));
      cuda::LightningIndexer(shape, cuda::Activation::kFloat32, q.GetTensorRawData(), k.GetTensorRawData(),
                             w.GetTensorRawData(), const_cast<void*>(pool.GetTensorRawData()),
                             out.GetTensorMutableData<int32_t>(), scratch.data(), scratch.bytes(),
                             ComputeStream(context));
    });
  }
};

struct LightningIndexerCudaOpDef : Ort::CustomOpBase<LightningIndexerCudaOpDef, LightningIndexerCudaKernel, true> {
  OrtStatusPtr CreateKernelV2(const OrtApi&, const OrtKernelInfo* info, void** kernel) const {
    return Guarded([&] {
      *kernel = new LightningIndexerCudaKernel{ReadLightningIndexerAttributes(info)};
    });
  }
  const char* GetName() const { return kOp; }
  const char* GetExecutionProviderType() const { return kProvider; }
  size_t GetInputTypeCount() const { return 7; }
  ONNXTensorElementDataType GetInputType(size_t index) const {
    return index < 4 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT : ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
  }
  OrtMemType GetInputMemoryType(size_t index) const { return index >= 4 ? OrtMemTypeCPUInput : OrtMemTypeDefault; }
  size_t GetOutputTypeCount() const { return 1; }
  ONNXTensorElementDataType GetOutputType(size_t) const { return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32; }
};

}  // namespace

const OrtCustomOp* LightningIndexerCudaOp() {
  static const LightningIndexerCudaOpDef op;
  return &op;
}

}  // namespace glm_ops::ort::cuda_ep
