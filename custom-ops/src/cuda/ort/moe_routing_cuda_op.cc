// CUDA-EP wrapper of MoeRouting: validation as the CPU wrapper, one warp per token on the compute stream.
#include <vector>

#include "common/moe_routing_validation.h"
#include "cuda/moe_routing_cuda.h"
#include "cuda/ort/cuda_kernel_support.h"
#include "cuda/ort/cuda_op_registry.h"
#include "glm_ops/op_names.h"
#include "ort/op_inputs.h"

namespace glm_ops::ort::cuda_ep {

namespace {

struct MoeRoutingCudaKernel {
  MoeRoutingAttributes attributes;

  OrtStatusPtr ComputeV2(OrtKernelContext* raw_context) {
    return Guarded([&] {
      Ort::KernelContext context(raw_context);
      Ort::ConstValue logits = context.GetInput(0), bias = context.GetInput(1);
      const MoeRoutingShape shape = ValidateMoeRouting(Describe(logits), Describe(bias), attributes);
      const std::vector<int64_t> out_shape{shape.tokens, attributes.top_k};
      auto ids = context.GetOutput(0, out_shape);
      auto weights = context.GetOutput(1, out_shape);
      if (shape.tokens == 0) return;
      cuda::MoeRouting(shape, cuda::Activation::kFloat32, logits.GetTensorRawData(), bias.GetTensorData<float>(),
                       ids.GetTensorMutableData<int32_t>(), weights.GetTensorMutableData<float>(),
                       ComputeStream(context));
    });
  }
};

struct MoeRoutingCudaOpDef : Ort::CustomOpBase<MoeRoutingCudaOpDef, MoeRoutingCudaKernel, true> {
  OrtStatusPtr CreateKernelV2(const OrtApi&, const OrtKernelInfo* info, void** kernel) const {
    return Guarded([&] {
      *kernel = new MoeRoutingCudaKernel{ReadMoeRoutingAttributes(info)};
    });
  }
  const char* GetName() const { return kMoeRoutingName; }
  const char* GetExecutionProviderType() const { return kProvider; }
  size_t GetInputTypeCount() const { return 2; }
  ONNXTensorElementDataType GetInputType(size_t) const { return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT; }
  size_t GetOutputTypeCount() const { return 2; }
  ONNXTensorElementDataType GetOutputType(size_t index) const {
    return index == 0 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  }
};

}  // namespace

const OrtCustomOp* MoeRoutingCudaOp() {
  static const MoeRoutingCudaOpDef op;
  return &op;
}

}  // namespace glm_ops::ort::cuda_ep
