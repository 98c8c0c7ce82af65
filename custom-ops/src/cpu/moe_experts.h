// CPU kernel of MoeExperts: routed SwiGLU experts with float32, bf16, block-FP8, int8 or int4 weights, decoded on
// the fly (never expanded in memory), parallel over (expert, row tile) work items.
#pragma once

#include <cstdint>

#include "common/moe_experts_validation.h"
#include "cpu/parallel.h"

namespace glm_ops::cpu {

using glm_ops::ExpertWeights;  // host pointers here

// out[i] = sum_k expert_weights[i,k] * down_e(SiLU(gate_e(x_i)) * up_e(x_i)), e = expert_ids[i,k].
// Expects validated shapes and ids (CheckExpertIds).
void MoeExperts(const Parallel& parallel, const MoeExpertsShape& shape, const float* hidden, const int32_t* expert_ids,
                const float* expert_weights, const ExpertWeights& weights, float* out);

}  // namespace glm_ops::cpu
