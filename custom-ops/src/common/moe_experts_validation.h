// Shape, type and attribute rules of MoeExperts (docs/onnx-contract.md), shared by the CPU and CUDA kernels.
#pragma once

#include <cstdint>
#include <string>

#include "common/tensor_desc.h"

namespace glm_ops {

enum class ExpertWeightFormat {
  kFloat32,
  kBFloat16,
  kFloat8E4M3,  // float8e4m3fn, or uint8 holding the same bits; one float32 scale per quant block
  kInt8,        // int8 q in [-127, 127]; one float16 scale per row and group of quant_block_size columns
  kInt4,        // uint8 pairs of (q + 8), column 2j in the low nibble; float16 scales as int8
};

// Whether the format takes the three scale inputs (float32 for FP8, float16 for int8/int4).
constexpr bool ExpertFormatHasScales(ExpertWeightFormat f) {
  return f == ExpertWeightFormat::kFloat8E4M3 || f == ExpertWeightFormat::kInt8 || f == ExpertWeightFormat::kInt4;
}

// Stored bytes of one row of `cols` weights (int4: two per byte, the last high nibble unused for odd cols).
constexpr int64_t ExpertRowBytes(ExpertWeightFormat f, int64_t cols) {
  switch (f) {
    case ExpertWeightFormat::kFloat32: return cols * 4;
    case ExpertWeightFormat::kBFloat16: return cols * 2;
    case ExpertWeightFormat::kInt4: return (cols + 1) / 2;
    default: return cols;
  }
}

struct MoeExpertsAttributes {
  int64_t quant_block_size = 128;
  std::string weight_format;  // "" (from the element type) or "int4"
  int64_t shared_experts = 0;  // the last shared_experts stacked experts run on every token with weight 1
};

struct MoeExpertsInputs {
  TensorDesc hidden;          // float [T, hidden]
  TensorDesc expert_ids;      // int32 [T, top_k]
  TensorDesc expert_weights;  // float [T, top_k]
  TensorDesc gate_weights;    // [E, inter, hidden]
  TensorDesc up_weights;      // [E, inter, hidden]
  TensorDesc down_weights;    // [E, hidden, inter]
  bool has_gate_scales = false, has_up_scales = false, has_down_scales = false;
  // FP8: float [E, ceil(out/qb), ceil(in/qb)]; int8/int4: float16 [E, out, ceil(in/qb)]
  TensorDesc gate_scales, up_scales, down_scales;
};

// Raw stacked expert weights in the element type `format` names (uint8 e4m3 bits for FP8, uint8 nibble pairs for
// int4), in host memory for the CPU kernel and device memory for the CUDA kernel. Scales are null unless the format
// has them (ExpertFormatHasScales): float32 for FP8, float16 bits (uint16_t) for int8/int4.
struct ExpertWeights {
  const void* gate = nullptr;  // [E, inter, hidden] (int4: [E, inter, ceil(hidden/2)])
  const void* up = nullptr;    // [E, inter, hidden]
  const void* down = nullptr;  // [E, hidden, inter] (int4: [E, hidden, ceil(inter/2)])
  const void* gate_scales = nullptr;
  const void* up_scales = nullptr;
  const void* down_scales = nullptr;
};

struct MoeExpertsShape {
  int64_t tokens = 0;
  int64_t hidden = 0;
  int64_t top_k = 0;    // routed experts per token (expert_ids' columns)
  int64_t experts = 0;  // stacked experts: the routed ones, then the shared ones
  int64_t inter = 0;
  int64_t quant_block_size = 128;
  ExpertWeightFormat format = ExpertWeightFormat::kFloat32;
  int64_t shared_experts = 0;

  // Experts expert_ids may name: [0, RoutedExperts()).
  int64_t RoutedExperts() const { return experts - shared_experts; }
  // Experts each token runs through: its top_k routed ones, then every shared one.
  int64_t Routes() const { return top_k + shared_experts; }
};

// Route k in [0, Routes()) of token t: the router's k-th choice and weight for k < top_k, else shared expert
// k - top_k (stacked after the routed ones) with weight 1.
inline int32_t RouteExpert(const MoeExpertsShape& s, const int32_t* expert_ids, int64_t t, int64_t k) {
  return k < s.top_k ? expert_ids[t * s.top_k + k] : static_cast<int32_t>(s.RoutedExperts() + (k - s.top_k));
}
inline float RouteWeight(const MoeExpertsShape& s, const float* expert_weights, int64_t t, int64_t k) {
  return k < s.top_k ? expert_weights[t * s.top_k + k] : 1.0f;
}

void ValidateMoeExpertsAttributes(const MoeExpertsAttributes& attributes);

MoeExpertsShape ValidateMoeExperts(const MoeExpertsInputs& inputs, const MoeExpertsAttributes& attributes);

// Checks the contents of expert_ids (host memory): every id in [0, RoutedExperts()).
void CheckExpertIds(const MoeExpertsShape& shape, const int32_t* expert_ids);

}  // namespace glm_ops
