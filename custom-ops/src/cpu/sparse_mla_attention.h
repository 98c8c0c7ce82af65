// CPU kernel of SparseMlaAttention: absorbed MLA over the paged latent cache, restricted to the selected causal
// positions (or all causal positions), with an online (max-subtracted) softmax.
#pragma once

#include <cstdint>

#include "common/sparse_mla_validation.h"
#include "cpu/parallel.h"

namespace glm_ops::cpu {

// Writes [kv_latent, k_rope] of every new token into latent_pool (in place), then
// out[i, h] = sum_t softmax_t(scale * (q_latent[i,h] . c_t + q_rope[i,h] . r_t)) * c_t.
// topk_indices may be null (attend to positions 0..p). out: [T, n_heads, kv_lora_rank]; a token with no valid
// position gets zeros. With shape.rotate, q_rope and k_rope arrive unrotated and `rope` rotates them first
// (cpu/rope.h).
void SparseMlaAttention(const Parallel& parallel, const SparseMlaShape& shape, const float* q_latent,
                        const float* q_rope, const float* kv_latent, const float* k_rope, const RopeTables& rope,
                        float* latent_pool, const int32_t* topk_indices, float* out);

}  // namespace glm_ops::cpu
