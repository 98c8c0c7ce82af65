#include "ort/op_inputs.h"

#include <cmath>
#include <cstdint>
#include <limits>

#include "glm_ops/op_names.h"
#include "ort/kernel_support.h"

namespace glm_ops::ort {

namespace {

// cumulative_sequence_lengths, past_sequence_lengths and block_table: host-memory inputs in every flavour.
PagedBatchInputs ReadBatch(const Ort::KernelContext& context, size_t first) {
  Ort::ConstValue cu = context.GetInput(first), past = context.GetInput(first + 1), table = context.GetInput(first + 2);
  return {Describe(cu),   cu.GetTensorData<int32_t>(),   Describe(past), past.GetTensorData<int32_t>(),
          Describe(table), table.GetTensorData<int32_t>()};
}

}  // namespace

LightningIndexerValues ReadLightningIndexerInputs(const Ort::KernelContext& context) {
  LightningIndexerValues v;
  v.q = context.GetInput(0);
  v.k = context.GetInput(1);
  v.w = context.GetInput(2);
  v.pool = context.GetInput(3);
  v.in.index_q = Describe(v.q);
  v.in.index_k = Describe(v.k);
  v.in.head_weights = Describe(v.w);
  v.in.index_pool = Describe(v.pool);
  v.in.batch = ReadBatch(context, 4);
  return v;
}

SparseMlaValues ReadSparseMlaInputs(const Ort::KernelContext& context) {
  constexpr size_t kTopkInput = 8;
  SparseMlaValues v;
  v.q_latent = context.GetInput(0);
  v.q_rope = context.GetInput(1);
  v.kv_latent = context.GetInput(2);
  v.k_rope = context.GetInput(3);
  v.pool = context.GetInput(4);
  v.topk = OptionalInput(context, kTopkInput);
  v.in.q_latent = Describe(v.q_latent);
  v.in.q_rope = Describe(v.q_rope);
  v.in.kv_latent = Describe(v.kv_latent);
  v.in.k_rope = Describe(v.k_rope);
  v.in.latent_pool = Describe(v.pool);
  v.in.batch = ReadBatch(context, 5);
  v.in.has_topk = v.topk != nullptr;
  if (v.in.has_topk) v.in.topk_indices = Describe(v.topk);
  return v;
}

MoeExpertsValues ReadMoeExpertsInputs(const Ort::KernelContext& context) {
  MoeExpertsValues v;
  v.hidden = context.GetInput(0);
  v.ids = context.GetInput(1);
  v.weights = context.GetInput(2);
  v.gate = context.GetInput(3);
  v.up = context.GetInput(4);
  v.down = context.GetInput(5);
  v.gate_scales = OptionalInput(context, 6);
  v.up_scales = OptionalInput(context, 7);
  v.down_scales = OptionalInput(context, 8);
  v.in.hidden = Describe(v.hidden);
  v.in.expert_ids = Describe(v.ids);
  v.in.expert_weights = Describe(v.weights);
  v.in.gate_weights = Describe(v.gate);
  v.in.up_weights = Describe(v.up);
  v.in.down_weights = Describe(v.down);
  v.in.has_gate_scales = v.gate_scales != nullptr;
  v.in.has_up_scales = v.up_scales != nullptr;
  v.in.has_down_scales = v.down_scales != nullptr;
  if (v.in.has_gate_scales) v.in.gate_scales = Describe(v.gate_scales);
  if (v.in.has_up_scales) v.in.up_scales = Describe(v.up_scales);
  if (v.in.has_down_scales) v.in.down_scales = Describe(v.down_scales);
  return v;
}

LightningIndexerAttributes ReadLightningIndexerAttributes(const OrtKernelInfo* info) {
  LightningIndexerAttributes a;
  a.index_topk = RequiredIntAttribute(info, kLightningIndexerName, "index_topk");
  const float scale = FloatAttribute(info, "scale", std::numeric_limits<float>::quiet_NaN());
  if (!std::isnan(scale)) a.scale = scale;  // absent: head_dim^-0.5, resolved per call from the input shape
  ValidateLightningIndexerAttributes(a);
  return a;
}

SparseMlaAttributes ReadSparseMlaAttributes(const OrtKernelInfo* info) {
  SparseMlaAttributes a;
  a.softmax_scale = RequiredFloatAttribute(info, kSparseMlaAttentionName, "softmax_scale");
  ValidateSparseMlaAttributes(a);
  return a;
}

MoeRoutingAttributes ReadMoeRoutingAttributes(const OrtKernelInfo* info) {
  MoeRoutingAttributes a;
  a.top_k = RequiredIntAttribute(info, kMoeRoutingName, "top_k");
  a.n_group = IntAttribute(info, "n_group", 1);
  a.topk_group = IntAttribute(info, "topk_group", 1);
  a.norm_topk_prob = IntAttribute(info, "norm_topk_prob", 1) != 0;
  a.routed_scaling_factor = FloatAttribute(info, "routed_scaling_factor", 1.0f);
  ValidateMoeRoutingAttributes(a);
  return a;
}

MoeExpertsAttributes ReadMoeExpertsAttributes(const OrtKernelInfo* info) {
  MoeExpertsAttributes a;
  a.quant_block_size = IntAttribute(info, "quant_block_size", 128);
  ValidateMoeExpertsAttributes(a);
  return a;
}

}  // namespace glm_ops::ort
