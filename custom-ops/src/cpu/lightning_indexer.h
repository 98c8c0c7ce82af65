// CPU kernel of LightningIndexer: writes the new indexer keys into the paged pool, then selects per new token the
// index_topk causal key positions with the highest score sum_h w_h * ReLU(scale * q_h . k).
#pragma once

#include <cstdint>

#include "common/lightning_indexer_validation.h"
#include "cpu/parallel.h"

namespace glm_ops::cpu {

// index_q [T, H, D], index_k [T, D], head_weights [T, H], index_pool [blocks, block_size, D] (written in place),
// topk_indices [T, index_topk] (descending score, ties: lower position; -1 padding). With shape.rotary_dim > 0,
// q and k arrive unrotated and `rope` rotates their first rotary_dim dims (cpu/rope.h) before anything else.
void LightningIndexer(const Parallel& parallel, const LightningIndexerShape& shape, const float* index_q,
                      const float* index_k, const float* head_weights, const RopeTables& rope, float* index_pool,
                      int32_t* topk_indices);

}  // namespace glm_ops::cpu
