// CPU kernel of MoeRouting: sigmoid router scores, bias for choice only, group-limited top-k, unbiased weights.
#pragma once

#include <cstdint>

#include "common/moe_routing_validation.h"
#include "cpu/parallel.h"

namespace glm_ops::cpu {

// logits [T, E], bias [E] -> expert_ids [T, top_k] (by descending biased score, ties: lower id), weights [T, top_k].
void MoeRouting(const Parallel& parallel, const MoeRoutingShape& shape, const float* logits, const float* bias,
                int32_t* expert_ids, float* expert_weights);

}  // namespace glm_ops::cpu
