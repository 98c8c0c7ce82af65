// int8 / int4 expert stacks for the MoeExperts tests: the input descriptors of a call and the data pointers of the
// stacks int_weight_quantizer.h makes ([experts * rows, cols] each, scales float16 per row and group of G columns).
#pragma once

#include <cstdint>

#include "common/moe_experts_validation.h"
#include "int_weight_quantizer.h"

namespace glm_ops::test {

// The stored bytes of m: int8 values, or int4 nibbles two per byte.
inline const void* StoredData(const QuantizedMatrix& m, bool int4) {
  return int4 ? static_cast<const void*>(m.int4.data()) : static_cast<const void*>(m.int8.data());
}

// MoeExperts' inputs for `tokens` tokens of `top_k` routes over `experts` stacked int8 / int4 experts with groups of g.
inline MoeExpertsInputs IntExpertsInputs(bool int4, int64_t experts, int64_t hidden, int64_t inter, int64_t g,
                                         int64_t tokens, int64_t top_k) {
  const DType wtype = int4 ? DType::kUInt8 : DType::kInt8;
  auto stored = [&](int64_t cols) { return int4 ? (cols + 1) / 2 : cols; };
  MoeExpertsInputs in;
  in.hidden = {DType::kFloat32, {tokens, hidden}};
  in.expert_ids = {DType::kInt32, {tokens, top_k}};
  in.expert_weights = {DType::kFloat32, {tokens, top_k}};
  in.gate_weights = {wtype, {experts, inter, stored(hidden)}};
  in.up_weights = in.gate_weights;
  in.down_weights = {wtype, {experts, hidden, stored(inter)}};
  in.has_gate_scales = in.has_up_scales = in.has_down_scales = true;
  in.gate_scales = {DType::kFloat16, {experts, inter, (hidden + g - 1) / g}};
  in.up_scales = in.gate_scales;
  in.down_scales = {DType::kFloat16, {experts, hidden, (inter + g - 1) / g}};
  return in;
}

// The kernel's view of three quantized stacks.
inline ExpertWeights IntExpertWeights(const QuantizedMatrix& gate, const QuantizedMatrix& up,
                                           const QuantizedMatrix& down, bool int4) {
  return {StoredData(gate, int4), StoredData(up, int4), StoredData(down, int4),
          gate.scales.data(),     up.scales.data(),     down.scales.data()};
}

}  // namespace glm_ops::test
