#include "ort/op_inputs.h"

#include <cstdint>
#include <optional>

#include "common/op_specs.h"
#include "ort/kernel_support.h"

namespace glm_ops::ort {

namespace {

// Input positions, taken from the op tables by name (common/op_specs.h): the order lives only there.
namespace indexer {
constexpr const auto& kIn = spec::kLightningIndexerInputs;
constexpr size_t kQ = IndexOf(kIn, "index_q"), kK = IndexOf(kIn, "index_k"), kW = IndexOf(kIn, "head_weights"),
                 kPool = IndexOf(kIn, "index_pool"), kBatch = IndexOf(kIn, "cumulative_sequence_lengths");
}  // namespace indexer

namespace mla {
constexpr const auto& kIn = spec::kSparseMlaInputs;
constexpr size_t kQLatent = IndexOf(kIn, "q_latent"), kQRope = IndexOf(kIn, "q_rope"),
                 kKvLatent = IndexOf(kIn, "kv_latent"), kKRope = IndexOf(kIn, "k_rope"),
                 kPool = IndexOf(kIn, "latent_pool"), kBatch = IndexOf(kIn, "cumulative_sequence_lengths"),
                 kTopk = IndexOf(kIn, "topk_indices");
}  // namespace mla

namespace experts {
constexpr const auto& kIn = spec::kMoeExpertsInputs;
constexpr size_t kHidden = IndexOf(kIn, "hidden"), kIds = IndexOf(kIn, "expert_ids"),
                 kWeights = IndexOf(kIn, "expert_weights"), kGate = IndexOf(kIn, "gate_weights"),
                 kUp = IndexOf(kIn, "up_weights"), kDown = IndexOf(kIn, "down_weights"),
                 kGateScales = IndexOf(kIn, "gate_scales"), kUpScales = IndexOf(kIn, "up_scales"),
                 kDownScales = IndexOf(kIn, "down_scales");
}  // namespace experts

namespace routing {
constexpr const auto& kIn = spec::kMoeRoutingInputs;
constexpr size_t kLogits = IndexOf(kIn, "router_logits"), kBias = IndexOf(kIn, "correction_bias");
}  // namespace routing

// cumulative_sequence_lengths, past_sequence_lengths and block_table, consecutive from `first` in every paged op
// (host memory in every flavour: the spec marks them so).
PagedBatchInputs ReadBatch(const Ort::KernelContext& context, size_t first) {
  Ort::ConstValue cu = context.GetInput(first), past = context.GetInput(first + 1), table = context.GetInput(first + 2);
  return {Describe(cu),   cu.GetTensorData<int32_t>(),   Describe(past), past.GetTensorData<int32_t>(),
          Describe(table), table.GetTensorData<int32_t>()};
}

}  // namespace

LightningIndexerValues ReadLightningIndexerInputs(const Ort::KernelContext& context) {
  using namespace indexer;
  LightningIndexerValues v;
  v.q = context.GetInput(kQ);
  v.k = context.GetInput(kK);
  v.w = context.GetInput(kW);
  v.pool = context.GetInput(kPool);
  v.in.index_q = Describe(v.q);
  v.in.index_k = Describe(v.k);
  v.in.head_weights = Describe(v.w);
  v.in.index_pool = Describe(v.pool);
  v.in.batch = ReadBatch(context, kBatch);
  return v;
}

SparseMlaValues ReadSparseMlaInputs(const Ort::KernelContext& context) {
  using namespace mla;
  SparseMlaValues v;
  v.q_latent = context.GetInput(kQLatent);
  v.q_rope = context.GetInput(kQRope);
  v.kv_latent = context.GetInput(kKvLatent);
  v.k_rope = context.GetInput(kKRope);
  v.pool = context.GetInput(kPool);
  v.topk = OptionalInput(context, kTopk);
  v.in.q_latent = Describe(v.q_latent);
  v.in.q_rope = Describe(v.q_rope);
  v.in.kv_latent = Describe(v.kv_latent);
  v.in.k_rope = Describe(v.k_rope);
  v.in.latent_pool = Describe(v.pool);
  v.in.batch = ReadBatch(context, kBatch);
  v.in.has_topk = v.topk != nullptr;
  if (v.in.has_topk) v.in.topk_indices = Describe(v.topk);
  return v;
}

MoeRoutingValues ReadMoeRoutingInputs(const Ort::KernelContext& context) {
  using namespace routing;
  MoeRoutingValues v;
  v.logits = context.GetInput(kLogits);
  v.bias = context.GetInput(kBias);
  v.logits_desc = Describe(v.logits);
  v.bias_desc = Describe(v.bias);
  return v;
}

MoeExpertsValues ReadMoeExpertsInputs(const Ort::KernelContext& context) {
  using namespace experts;
  MoeExpertsValues v;
  v.hidden = context.GetInput(kHidden);
  v.ids = context.GetInput(kIds);
  v.weights = context.GetInput(kWeights);
  v.gate = context.GetInput(kGate);
  v.up = context.GetInput(kUp);
  v.down = context.GetInput(kDown);
  v.gate_scales = OptionalInput(context, kGateScales);
  v.up_scales = OptionalInput(context, kUpScales);
  v.down_scales = OptionalInput(context, kDownScales);
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
  const OpSpec& op = kLightningIndexerSpec;
  LightningIndexerAttributes a;
  a.index_topk = IntAttribute(info, op, "index_topk");
  // absent: head_dim^-0.5, resolved per call from the input shape
  if (const std::optional<float> scale = OptionalFloatAttribute(info, op, "scale")) a.scale = *scale;
  ValidateLightningIndexerAttributes(a);
  return a;
}

SparseMlaAttributes ReadSparseMlaAttributes(const OrtKernelInfo* info) {
  SparseMlaAttributes a;
  a.softmax_scale = FloatAttribute(info, kSparseMlaAttentionSpec, "softmax_scale");
  ValidateSparseMlaAttributes(a);
  return a;
}

MoeRoutingAttributes ReadMoeRoutingAttributes(const OrtKernelInfo* info) {
  const OpSpec& op = kMoeRoutingSpec;
  MoeRoutingAttributes a;
  a.top_k = IntAttribute(info, op, "top_k");
  a.n_group = IntAttribute(info, op, "n_group");
  a.topk_group = IntAttribute(info, op, "topk_group");
  a.norm_topk_prob = IntAttribute(info, op, "norm_topk_prob") != 0;
  a.routed_scaling_factor = FloatAttribute(info, op, "routed_scaling_factor");
  ValidateMoeRoutingAttributes(a);
  return a;
}

MoeExpertsAttributes ReadMoeExpertsAttributes(const OrtKernelInfo* info) {
  MoeExpertsAttributes a;
  a.quant_block_size = IntAttribute(info, kMoeExpertsSpec, "quant_block_size");
  ValidateMoeExpertsAttributes(a);
  return a;
}

}  // namespace glm_ops::ort
