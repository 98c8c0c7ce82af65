// ORT wrapper of DenseProjection (docs/onnx-contract.md; declared from common/op_specs.h). The weight input admits
// several element types, so ORT is told "undefined" (any type) for it; the shared validation checks the spec's set.
#include <vector>

#include "common/dense_projection_validation.h"
#include "cpu/dense_projection_node.h"
#include "ort/dense_projection_inputs.h"
#include "ort/op_registry.h"
#include "ort/ort_parallel.h"
#include "ort/spec_custom_op.h"

namespace glm_ops::ort {

namespace {

void Compute(const DenseProjectionAttributes& attributes, Ort::KernelContext& context) {
  const DenseProjectionValues v = ReadDenseProjectionInputs(context);
  const DenseProjectionShape shape = ValidateDenseProjection(v.in, attributes);
  auto out = context.GetOutput(0, std::vector<int64_t>{shape.tokens, shape.out});
  if (shape.tokens == 0) return;
  cpu::DenseProjectionNode(OrtParallel(context), shape, v.input.GetTensorData<float>(),
                           DenseWeightPointers(v, shape), shape.addend ? v.addend.GetTensorData<float>() : nullptr,
                           out.GetTensorMutableData<float>());
}

}  // namespace

const OrtCustomOp* DenseProjectionCpuOp() {
  return DeclareOp<DenseProjectionAttributes, ReadDenseProjectionAttributes, Compute>(kDenseProjectionSpec, nullptr);
}

}  // namespace glm_ops::ort
