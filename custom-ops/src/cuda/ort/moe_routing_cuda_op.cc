// CUDA-EP wrapper of MoeRouting: validation as the CPU wrapper, one warp per token on the compute stream.
#include <vector>

#include "common/moe_routing_validation.h"
#include "cuda/moe_routing_cuda.h"
#include "cuda/ort/cuda_kernel_support.h"
#include "cuda/ort/cuda_op_registry.h"
#include "ort/op_inputs.h"
#include "ort/spec_custom_op.h"

namespace glm_ops::ort::cuda_ep {

namespace {

struct MoeRoutingCudaKernel {
  explicit MoeRoutingCudaKernel(const OrtKernelInfo* info) : attributes(ReadMoeRoutingAttributes(info)) {}
  MoeRoutingAttributes attributes;

  OrtStatusPtr ComputeV2(OrtKernelContext* raw_context) {
    return Guarded([&] {
      Ort::KernelContext context(raw_context);
      const auto [logits, bias, logits_desc, bias_desc] = ReadMoeRoutingInputs(context);
      const MoeRoutingShape shape = ValidateMoeRouting(logits_desc, bias_desc, attributes);
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

}  // namespace

const OrtCustomOp* MoeRoutingCudaOp() {
  static const SpecCustomOp<MoeRoutingCudaKernel> op(kMoeRoutingSpec, kProvider);
  return &op;
}

}  // namespace glm_ops::ort::cuda_ep
