// CPU kernel of MoeExperts: routed SwiGLU experts with float32, bf16 or block-FP8 weights, dequantised on the fly in
// small tiles (never expanded in memory), parallel over (expert, row tile) work items.
#pragma once

#include <cstdint>

#include "common/moe_experts_validation.h"
#include "cpu/parallel.h"

namespace glm_ops::cpu {

// Raw stacked expert weights, in the element type `shape.format` names (uint8 bits for FP8). Scales are null unless
// the format is FP8.
struct ExpertWeights {
  const void* gate = nullptr;  // [E, inter, hidden]
  const void* up = nullptr;    // [E, inter, hidden]
  const void* down = nullptr;  // [E, hidden, inter]
  const float* gate_scales = nullptr;
  const float* up_scales = nullptr;
  const float* down_scales = nullptr;
};

// out[i] = sum_k expert_weights[i,k] * down_e(SiLU(gate_e(x_i)) * up_e(x_i)), e = expert_ids[i,k].
// Expects validated shapes and ids (CheckExpertIds).
void MoeExperts(const Parallel& parallel, const MoeExpertsShape& shape, const float* hidden, const int32_t* expert_ids,
                const float* expert_weights, const ExpertWeights& weights, float* out);

}  // namespace glm_ops::cpu
