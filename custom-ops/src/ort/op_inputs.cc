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
                 kPool = IndexOf(kIn, "index_pool"), kBatch = IndexOf(kIn, "cumulative_sequence_lengths"),
                 kCos = IndexOf(kIn, "rope_cos"), kSin = IndexOf(kIn, "rope_sin");
}  // namespace indexer

namespace mla {
constexpr const auto& kIn = spec::kSparseMlaInputs;
constexpr size_t kQLatent = IndexOf(kIn, "q_latent"), kQRope = IndexOf(kIn, "q_rope"),
                 kKvLatent = IndexOf(kIn, "kv_latent"), kKRope = IndexOf(kIn, "k_rope"),
                 kPool = IndexOf(kIn, "latent_pool"), kBatch = IndexOf(kIn, "cumulative_sequence_lengths"),
                 kTopk = IndexOf(kIn, "topk_indices"), kCos = IndexOf(kIn, "rope_cos"),
                 kSin = IndexOf(kIn, "rope_sin");
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

// The input at `index`, described into `desc`.
Ort::ConstValue Take(const Ort::KernelContext& context, size_t index, TensorDesc& desc) {
  Ort::ConstValue value = context.GetInput(index);
  desc = Describe(value);
  return value;
}

// An optional input: empty (and `present` false) when the node leaves it out.
Ort::ConstValue TakeOptional(const Ort::KernelContext& context, size_t index, TensorDesc& desc, bool& present) {
  Ort::ConstValue value = OptionalInput(context, index);
  present = value != nullptr;
  if (present) desc = Describe(value);
  return value;
}

}  // namespace

RopeTables RopeTablesOf(const Ort::ConstValue& cos, const Ort::ConstValue& sin) {
  if (cos == nullptr) return {};
  return {cos.GetTensorData<float>(), sin.GetTensorData<float>()};
}

LightningIndexerValues ReadLightningIndexerInputs(const Ort::KernelContext& context) {
  using namespace indexer;
  LightningIndexerValues v;
  v.q = Take(context, kQ, v.in.index_q);
  v.k = Take(context, kK, v.in.index_k);
  v.w = Take(context, kW, v.in.head_weights);
  v.pool = Take(context, kPool, v.in.index_pool);
  v.in.batch = ReadBatch(context, kBatch);
  v.cos = TakeOptional(context, kCos, v.in.rope.cos, v.in.rope.has_cos);
  v.sin = TakeOptional(context, kSin, v.in.rope.sin, v.in.rope.has_sin);
  return v;
}

SparseMlaValues ReadSparseMlaInputs(const Ort::KernelContext& context) {
  using namespace mla;
  SparseMlaValues v;
  v.q_latent = Take(context, kQLatent, v.in.q_latent);
  v.q_rope = Take(context, kQRope, v.in.q_rope);
  v.kv_latent = Take(context, kKvLatent, v.in.kv_latent);
  v.k_rope = Take(context, kKRope, v.in.k_rope);
  v.pool = Take(context, kPool, v.in.latent_pool);
  v.in.batch = ReadBatch(context, kBatch);
  v.topk = TakeOptional(context, kTopk, v.in.topk_indices, v.in.has_topk);
  v.cos = TakeOptional(context, kCos, v.in.rope.cos, v.in.rope.has_cos);
  v.sin = TakeOptional(context, kSin, v.in.rope.sin, v.in.rope.has_sin);
  return v;
}

MoeRoutingValues ReadMoeRoutingInputs(const Ort::KernelContext& context) {
  using namespace routing;
  MoeRoutingValues v;
  v.logits = Take(context, kLogits, v.logits_desc);
  v.bias = Take(context, kBias, v.bias_desc);
  return v;
}

MoeExpertsValues ReadMoeExpertsInputs(const Ort::KernelContext& context) {
  using namespace experts;
  MoeExpertsValues v;
  v.hidden = Take(context, kHidden, v.in.hidden);
  v.ids = Take(context, kIds, v.in.expert_ids);
  v.weights = Take(context, kWeights, v.in.expert_weights);
  v.gate = Take(context, kGate, v.in.gate_weights);
  v.up = Take(context, kUp, v.in.up_weights);
  v.down = Take(context, kDown, v.in.down_weights);
  v.gate_scales = TakeOptional(context, kGateScales, v.in.gate_scales, v.in.has_gate_scales);
  v.up_scales = TakeOptional(context, kUpScales, v.in.up_scales, v.in.has_up_scales);
  v.down_scales = TakeOptional(context, kDownScales, v.in.down_scales, v.in.has_down_scales);
  return v;
}

ExpertWeights ExpertWeightPointers(const MoeExpertsValues& v, const MoeExpertsShape& shape) {
  const bool scaled = ExpertFormatHasScales(shape.format);
  return {v.gate.GetTensorRawData(),
          v.up.GetTensorRawData(),
          v.down.GetTensorRawData(),
          scaled ? v.gate_scales.GetTensorRawData() : nullptr,
          scaled ? v.up_scales.GetTensorRawData() : nullptr,
          scaled ? v.down_scales.GetTensorRawData() : nullptr};
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
  a.weight_format = StringAttribute(info, kMoeExpertsSpec, "weight_format");
  a.shared_experts = IntAttribute(info, kMoeExpertsSpec, "shared_experts");
  ValidateMoeExpertsAttributes(a);
  return a;
}

}  // namespace glm_ops::ort
