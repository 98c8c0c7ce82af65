// CPU kernel of MoeExperts: routed (and shared) SwiGLU experts with float32, bf16, block-FP8, int8 or int4 weights,
// decoded on the fly (never expanded in memory), parallel over (expert, row tile) work items; int8 / int4 experts
// with many tokens as whole DenseProjection calls (cpu/moe_whole_calls.h).
#pragma once

#include <cstdint>

#include "common/moe_experts_validation.h"
#include "cpu/parallel.h"

namespace glm_ops::cpu {

using glm_ops::ExpertWeights;  // host pointers here

// out[i] = sum_k expert_weights[i,k] * down_e(SiLU(gate_e(x_i)) * up_e(x_i)), e = expert_ids[i,k], plus each shared
// expert (the last shape.shared_experts of the stacks) with weight 1: the routes of RouteExpert.
// Expects validated shapes and ids (CheckExpertIds).
void MoeExperts(const Parallel& parallel, const MoeExpertsShape& shape, const float* hidden, const int32_t* expert_ids,
                const float* expert_weights, const ExpertWeights& weights, float* out);

// bf16 weights on AMX (cpu/expert_amx.h, where AMX is usable and on): experts with at least this many routed tokens
// take the AMX tile kernel, the others the AVX-512 pair kernel. Tests and benchmarks may change it (not while the op
// runs); returns the previous value.
// (From 5 tokens on an expert the tile kernel streams a GLM-5.2 expert's weights faster than the pair kernel; at 1-4
// no faster or slower: docs/benchmarks.md, branch `moeamx`.) A token's result is the same bits for any number of
// tokens on its expert on the same side of this count; across it, within the split's 2^-16 (cpu/expert_amx.h).
constexpr int64_t kExpertAmxDefaultMinTokens = 5;
int64_t SetMoeExpertsAmxMinTokens(int64_t tokens);

}  // namespace glm_ops::cpu
