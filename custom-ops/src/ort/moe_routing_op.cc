// ORT wrapper of MoeRouting (docs/onnx-contract.md; declared from common/op_specs.h).
#include <vector>

#include "common/moe_routing_validation.h"
#include "cpu/moe_routing.h"
#include "ort/op_inputs.h"
#include "ort/op_registry.h"
#include "ort/ort_parallel.h"
#include "ort/spec_custom_op.h"

namespace glm_ops::ort {

namespace {

void Compute(const MoeRoutingAttributes& attributes, Ort::KernelContext& context) {
  const auto [logits, bias, logits_desc, bias_desc] = ReadMoeRoutingInputs(context);
  const MoeRoutingShape shape = ValidateMoeRouting(logits_desc, bias_desc, attributes);
  const std::vector<int64_t> out_shape{shape.tokens, attributes.top_k};
  auto ids = context.GetOutput(0, out_shape);
  auto weights = context.GetOutput(1, out_shape);
  if (shape.tokens == 0) return;
  cpu::MoeRouting(OrtParallel(context), shape, logits.GetTensorData<float>(),
                  bias.GetTensorData<float>(), ids.GetTensorMutableData<int32_t>(),
                  weights.GetTensorMutableData<float>());
}

}  // namespace

const OrtCustomOp* MoeRoutingCpuOp() {
  return DeclareOp<MoeRoutingAttributes, ReadMoeRoutingAttributes, Compute>(kMoeRoutingSpec, nullptr);
}

}  // namespace glm_ops::ort
