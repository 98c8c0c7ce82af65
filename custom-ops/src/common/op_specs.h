// The one description of each custom operator's interface: inputs (name, admitted element types, optional, where
// the CUDA kernel wants it), outputs and attributes, in the order ONNX Runtime numbers them. The ORT wrappers of
// both execution providers declare their ops from these tables (src/ort/spec_custom_op.h), the input readers take
// their indices from them (src/ort/op_inputs.cc), and a test compares them with docs/onnx-contract.md.
// ORT-free, so the kernels' tests can read them too.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>

#include "common/paged_batch.h"
#include "common/tensor_desc.h"
#include "glm_ops/op_names.h"

namespace glm_ops {

// A set of element types, one bit per DType.
class TypeSet {
 public:
  constexpr TypeSet(std::initializer_list<DType> types) {
    for (DType t : types) bits_ |= Bit(t);
  }
  constexpr TypeSet With(DType type) const {
    TypeSet out = *this;
    out.bits_ |= Bit(type);
    return out;
  }
  constexpr bool Contains(DType type) const { return (bits_ & Bit(type)) != 0; }
  constexpr bool IsSingle() const { return bits_ != 0 && (bits_ & (bits_ - 1)) == 0; }
  constexpr uint32_t bits() const { return bits_; }

 private:
  static constexpr uint32_t Bit(DType type) { return uint32_t{1} << static_cast<uint32_t>(type); }
  uint32_t bits_ = 0;
};

// Where the CUDA-EP kernel receives an input. The CPU kernels receive everything in host memory.
enum class Memory { kDevice, kHost };

struct TensorSpec {
  std::string_view name;
  TypeSet types;  // more than one: declared with an undefined type in ORT, checked by the op's validation
  bool optional = false;
  Memory cuda_memory = Memory::kDevice;
};

enum class AttributeKind { kInt, kFloat, kString };

struct AttributeSpec {
  std::string_view name;
  AttributeKind kind;
  bool required;
  bool has_default;      // false and not required: absent means "derived per call" (the contract says how)
  double default_value;  // meaningful when has_default (int and float kinds)
  std::string_view default_text = {};  // the default of a string attribute
};

// The lists' element counts vary per op; the views below let code walk any op generically.
template <typename T>
struct SpecList {
  const T* items = nullptr;
  size_t count = 0;
  constexpr const T& operator[](size_t i) const { return items[i]; }
  constexpr const T* begin() const { return items; }
  constexpr const T* end() const { return items + count; }
  constexpr size_t size() const { return count; }
};

struct OpSpec {
  std::string_view name;
  SpecList<TensorSpec> inputs;
  SpecList<TensorSpec> outputs;
  SpecList<AttributeSpec> attributes;
};

// Position of `name` in a table, resolved at compile time (a misspelt name does not compile).
template <size_t N>
constexpr size_t IndexOf(const std::array<TensorSpec, N>& table, std::string_view name) {
  for (size_t i = 0; i < N; ++i)
    if (table[i].name == name) return i;
  throw "no such tensor in the op's spec";  // only reachable in a constant expression, where it fails to compile
}

template <size_t N>
constexpr SpecList<TensorSpec> ListOf(const std::array<TensorSpec, N>& table) {
  return {table.data(), N};
}
template <size_t N>
constexpr SpecList<AttributeSpec> ListOf(const std::array<AttributeSpec, N>& table) {
  return {table.data(), N};
}

// The paged-batch inputs every attention-side op takes, in this order.
// Host memory on CUDA too: the shared validation reads their contents.
inline constexpr TensorSpec kCumulativeSequenceLengthsSpec{kCumulativeSequenceLengths, {DType::kInt32}, false,
                                                           Memory::kHost};
inline constexpr TensorSpec kPastSequenceLengthsSpec{kPastSequenceLengths, {DType::kInt32}, false, Memory::kHost};
inline constexpr TensorSpec kBlockTableSpec{kBlockTable, {DType::kInt32}, false, Memory::kHost};

// The optional rope tables of the attention-side ops (common/rope_tables.h), last in both.
inline constexpr TensorSpec kRopeCosSpec{"rope_cos", {DType::kFloat32}, true};
inline constexpr TensorSpec kRopeSinSpec{"rope_sin", {DType::kFloat32}, true};

namespace spec {

// ---- LightningIndexer
inline constexpr std::array<TensorSpec, 9> kLightningIndexerInputs{{
    {"index_q", {DType::kFloat32}},
    {"index_k", {DType::kFloat32}},
    {"head_weights", {DType::kFloat32}},
    {"index_pool", {DType::kFloat32}},
    kCumulativeSequenceLengthsSpec,
    kPastSequenceLengthsSpec,
    kBlockTableSpec,
    kRopeCosSpec,
    kRopeSinSpec,
}};
inline constexpr std::array<TensorSpec, 1> kLightningIndexerOutputs{{{"topk_indices", {DType::kInt32}}}};
inline constexpr std::array<AttributeSpec, 2> kLightningIndexerAttributes{{
    {"index_topk", AttributeKind::kInt, true, false, 0},
    {"scale", AttributeKind::kFloat, false, false, 0},  // absent: head_dim^-0.5 from the input shape
}};

// ---- SparseMlaAttention
inline constexpr std::array<TensorSpec, 11> kSparseMlaInputs{{
    {"q_latent", {DType::kFloat32}},
    {"q_rope", {DType::kFloat32}},
    {"kv_latent", {DType::kFloat32}},
    {"k_rope", {DType::kFloat32}},
    {"latent_pool", {DType::kFloat32}},
    kCumulativeSequenceLengthsSpec,
    kPastSequenceLengthsSpec,
    kBlockTableSpec,
    {"topk_indices", {DType::kInt32}, true},  // produced by the indexer on the device
    kRopeCosSpec,
    kRopeSinSpec,
}};
inline constexpr std::array<TensorSpec, 1> kSparseMlaOutputs{{{"attn_latent", {DType::kFloat32}}}};
inline constexpr std::array<AttributeSpec, 1> kSparseMlaAttributes{{
    {"softmax_scale", AttributeKind::kFloat, true, false, 0},
}};

// ---- MoeRouting
inline constexpr std::array<TensorSpec, 2> kMoeRoutingInputs{{
    {"router_logits", {DType::kFloat32}},
    {"correction_bias", {DType::kFloat32}},
}};
inline constexpr std::array<TensorSpec, 2> kMoeRoutingOutputs{{
    {"expert_ids", {DType::kInt32}},
    {"expert_weights", {DType::kFloat32}},
}};
inline constexpr std::array<AttributeSpec, 5> kMoeRoutingAttributes{{
    {"top_k", AttributeKind::kInt, true, false, 0},
    {"n_group", AttributeKind::kInt, false, true, 1},
    {"topk_group", AttributeKind::kInt, false, true, 1},
    {"norm_topk_prob", AttributeKind::kInt, false, true, 1},
    {"routed_scaling_factor", AttributeKind::kFloat, false, true, 1.0},
}};

// ---- MoeExperts
// Expert weights: float32, bfloat16, block-FP8 (float8e4m3fn, or uint8 holding its bits), int8, or int4 (uint8 with
// weight_format "int4"); the three must agree. Scales: float32 for FP8, float16 for int8/int4.
inline constexpr TypeSet kExpertWeightTypes{DType::kFloat32, DType::kBFloat16, DType::kFloat8E4M3FN, DType::kUInt8,
                                            DType::kInt8};
inline constexpr TypeSet kExpertScaleTypes{DType::kFloat32, DType::kFloat16};
inline constexpr std::array<TensorSpec, 9> kMoeExpertsInputs{{
    {"hidden", {DType::kFloat32}},
    {"expert_ids", {DType::kInt32}},  // stays on the device on CUDA (it comes from MoeRouting there)
    {"expert_weights", {DType::kFloat32}},
    {"gate_weights", kExpertWeightTypes},
    {"up_weights", kExpertWeightTypes},
    {"down_weights", kExpertWeightTypes},
    {"gate_scales", kExpertScaleTypes, true},
    {"up_scales", kExpertScaleTypes, true},
    {"down_scales", kExpertScaleTypes, true},
}};
inline constexpr std::array<TensorSpec, 1> kMoeExpertsOutputs{{{"output", {DType::kFloat32}}}};
inline constexpr std::array<AttributeSpec, 3> kMoeExpertsAttributes{{
    {"quant_block_size", AttributeKind::kInt, false, true, 128},
    {"weight_format", AttributeKind::kString, false, true, 0, ""},  // "int4": uint8 weights hold int4 pairs
    {"shared_experts", AttributeKind::kInt, false, true, 0},  // the last S stacked experts: every token, weight 1
}};

// ---- DenseProjection
// Weights at their stored width, in MoeExperts' formats: float32, bfloat16, block-FP8 (float8e4m3fn, or uint8 holding
// its bits), int8, or int4 (uint8 with weight_format "int4"). Scales: float32 for FP8, float16 for int8/int4.
// With groups G > 1 the input is [T, G * in] (or [T, G, in]) and group g projects its own columns through its own
// out / G weight rows.
inline constexpr std::array<TensorSpec, 4> kDenseProjectionInputs{{
    {"input", {DType::kFloat32}},
    {"weight", kExpertWeightTypes},
    {"scales", kExpertScaleTypes, true},
    {"addend", {DType::kFloat32}, true},  // [T, out], added to the output (e.g. the routed experts' sum)
}};
inline constexpr std::array<TensorSpec, 1> kDenseProjectionOutputs{{{"output", {DType::kFloat32}}}};
inline constexpr std::array<AttributeSpec, 4> kDenseProjectionAttributes{{
    {"quant_block_size", AttributeKind::kInt, false, true, 128},
    {"weight_format", AttributeKind::kString, false, true, 0, ""},  // "int4": uint8 weights hold int4 pairs
    {"groups", AttributeKind::kInt, false, true, 1},  // per-group projection (MLA's W_UK / W_UV, one group per head)
    {"input_activation", AttributeKind::kString, false, true, 0, ""},  // "swiglu": input [T, 2 in] = [gate | up]
}};

}  // namespace spec

inline constexpr OpSpec kLightningIndexerSpec{kLightningIndexerName, ListOf(spec::kLightningIndexerInputs),
                                              ListOf(spec::kLightningIndexerOutputs),
                                              ListOf(spec::kLightningIndexerAttributes)};
inline constexpr OpSpec kSparseMlaAttentionSpec{kSparseMlaAttentionName, ListOf(spec::kSparseMlaInputs),
                                                ListOf(spec::kSparseMlaOutputs), ListOf(spec::kSparseMlaAttributes)};
inline constexpr OpSpec kMoeRoutingSpec{kMoeRoutingName, ListOf(spec::kMoeRoutingInputs),
                                        ListOf(spec::kMoeRoutingOutputs), ListOf(spec::kMoeRoutingAttributes)};
inline constexpr OpSpec kMoeExpertsSpec{kMoeExpertsName, ListOf(spec::kMoeExpertsInputs),
                                        ListOf(spec::kMoeExpertsOutputs), ListOf(spec::kMoeExpertsAttributes)};

inline constexpr OpSpec kDenseProjectionSpec{kDenseProjectionName, ListOf(spec::kDenseProjectionInputs),
                                             ListOf(spec::kDenseProjectionOutputs),
                                             ListOf(spec::kDenseProjectionAttributes)};

// Every op, in the order of GLM_OPS_LIST (include/glm_ops/op_names.h).
inline constexpr std::array<const OpSpec*, 5> kAllOpSpecs{&kLightningIndexerSpec, &kSparseMlaAttentionSpec,
                                                          &kMoeRoutingSpec, &kMoeExpertsSpec, &kDenseProjectionSpec};

// The attribute named `name` of `op` (a programming error if absent).
const AttributeSpec& FindAttribute(const OpSpec& op, std::string_view name);

}  // namespace glm_ops
