// ORT wrapper of SparseMlaAttention (docs/onnx-contract.md; declared from common/op_specs.h). latent_pool is written
// in place through the pointer ORT hands us for the graph input; topk_indices is optional.
#include <vector>

#include "common/sparse_mla_validation.h"
#include "cpu/sparse_mla_attention.h"
#include "ort/op_inputs.h"
#include "ort/op_registry.h"
#include "ort/ort_parallel.h"
#include "ort/spec_custom_op.h"

namespace glm_ops::ort {

namespace {

void Compute(const SparseMlaAttributes& attributes, Ort::KernelContext& context) {
  const auto [ql, qr, kv, kr, pool, topk, cos, sin, in] = ReadSparseMlaInputs(context);
  const SparseMlaShape shape = ValidateSparseMla(in, attributes);
  auto out = context.GetOutput(0, std::vector<int64_t>{shape.tokens, shape.n_heads, shape.kv_lora_rank});
  if (shape.tokens == 0) return;
  float* pool_data = const_cast<float*>(pool.GetTensorData<float>());  // in-place by contract
  cpu::SparseMlaAttention(OrtParallel(context), shape, ql.GetTensorData<float>(),
                          qr.GetTensorData<float>(), kv.GetTensorData<float>(), kr.GetTensorData<float>(),
                          RopeTablesOf(cos, sin), pool_data,
                          in.has_topk ? topk.GetTensorData<int32_t>() : nullptr, out.GetTensorMutableData<float>());
}

}  // namespace

const OrtCustomOp* SparseMlaAttentionCpuOp() {
  return DeclareOp<SparseMlaAttributes, ReadSparseMlaAttributes, Compute>(kSparseMlaAttentionSpec, nullptr);
}

}  // namespace glm_ops::ort
