// ORT wrapper of MoeExperts (docs/onnx-contract.md; declared from common/op_specs.h). The weight inputs admit
// several element types, so ORT is told "undefined" (any type) for each; the shared validation checks the spec's
// set and requires the three to agree.
#include <vector>

#include "common/moe_experts_validation.h"
#include "cpu/moe_experts.h"
#include "ort/op_inputs.h"
#include "ort/op_registry.h"
#include "ort/ort_parallel.h"
#include "ort/spec_custom_op.h"

namespace glm_ops::ort {

namespace {

void Compute(const MoeExpertsAttributes& attributes, Ort::KernelContext& context) {
  const MoeExpertsValues v = ReadMoeExpertsInputs(context);
  const MoeExpertsShape shape = ValidateMoeExperts(v.in, attributes);
  auto out = context.GetOutput(0, std::vector<int64_t>{shape.tokens, shape.hidden});
  if (shape.tokens == 0) return;
  CheckExpertIds(shape, v.ids.GetTensorData<int32_t>());
  cpu::MoeExperts(OrtParallel(context), shape, v.hidden.GetTensorData<float>(),
                  v.ids.GetTensorData<int32_t>(), v.weights.GetTensorData<float>(), ExpertWeightPointers(v, shape),
                  out.GetTensorMutableData<float>());
}

}  // namespace

const OrtCustomOp* MoeExpertsCpuOp() {
  return DeclareOp<MoeExpertsAttributes, ReadMoeExpertsAttributes, Compute>(kMoeExpertsSpec, nullptr);
}

}  // namespace glm_ops::ort
