// ORT wrapper of LightningIndexer (docs/onnx-contract.md; declared from common/op_specs.h). index_pool is written in
// place through the pointer ORT hands us for the graph input; it is not an output.
#include <vector>

#include "common/lightning_indexer_validation.h"
#include "cpu/lightning_indexer.h"
#include "ort/op_inputs.h"
#include "ort/op_registry.h"
#include "ort/ort_parallel.h"
#include "ort/spec_custom_op.h"

namespace glm_ops::ort {

namespace {

void Compute(const LightningIndexerAttributes& attributes, Ort::KernelContext& context) {
  const auto [q, k, w, pool, cos, sin, in] = ReadLightningIndexerInputs(context);
  const LightningIndexerShape shape = ValidateLightningIndexer(in, attributes);
  auto out = context.GetOutput(0, std::vector<int64_t>{shape.tokens, shape.index_topk});
  if (shape.tokens == 0) return;
  // The pool is a graph input the runtime owns and binds once; the contract makes this op its writer.
  float* pool_data = const_cast<float*>(pool.GetTensorData<float>());
  cpu::LightningIndexer(OrtParallel(context), shape, q.GetTensorData<float>(),
                        k.GetTensorData<float>(), w.GetTensorData<float>(), RopeTablesOf(cos, sin), pool_data,
                        out.GetTensorMutableData<int32_t>());
}

}  // namespace

const OrtCustomOp* LightningIndexerCpuOp() {
  return DeclareOp<LightningIndexerAttributes, ReadLightningIndexerAttributes, Compute>(kLightningIndexerSpec,
                                                                                        nullptr);
}

}  // namespace glm_ops::ort
