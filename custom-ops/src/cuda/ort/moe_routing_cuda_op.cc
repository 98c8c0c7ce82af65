// CUDA-EP wrapper of MoeRouting: the CPU wrapper's spec (common/op_specs.h) and validation, one warp per token on
// the compute stream.
#include <vector>

#include "common/moe_routing_validation.h"
#include "cuda/moe_routing_cuda.h"
#include "cuda/ort/cuda_kernel_support.h"
#include "cuda/ort/cuda_op_registry.h"
#include "ort/op_inputs.h"
#include "ort/spec_custom_op.h"

namespace glm_ops::ort::cuda_ep {

namespace {

void Compute(const MoeRoutingAttributes& attributes, Ort::KernelContext& context) {
  const auto [logits, bias, logits_desc, bias_desc] = ReadMoeRoutingInputs(context);
  const MoeRoutingShape shape = ValidateMoeRouting(logits_desc, bias_desc, attributes);
  const std::vector<int64_t> out_shape{shape.tokens, attributes.top_k};
  auto ids = context.GetOutput(0, out_shape);
  auto weights = context.GetOutput(1, out_shape);
  if (shape.tokens == 0) return;
  cuda::MoeRouting(shape, cuda::Activation::kFloat32, logits.GetTensorRawData(), bias.GetTensorData<float>(),
                   ids.GetTensorMutableData<int32_t>(), weights.GetTensorMutableData<float>(), ComputeStream(context));
}

}  // namespace

const OrtCustomOp* MoeRoutingCudaOp() {
  return DeclareOp<MoeRoutingAttributes, ReadMoeRoutingAttributes, Compute>(kMoeRoutingSpec, kProvider);
}

}  // namespace glm_ops::ort::cuda_ep
