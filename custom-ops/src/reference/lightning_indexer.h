// Reference LightningIndexer (docs/onnx-contract.md): writes the new keys, scores every causal key of a token's
// sequence in double precision, full stable sort.
#pragma once

#include <cstdint>
#include <vector>

#include "common/lightning_indexer_validation.h"

namespace glm_ops::reference {

// Writes each new token's index_k row into its pool row.
void WriteIndexerKeys(const LightningIndexerShape& shape, const float* index_k, float* index_pool);

// score(t) = sum_h w[token,h] * ReLU(scale * q[token,h] . k[t]) for the positions t = 0..p of the token's sequence,
// read from the pool (call WriteIndexerKeys first).
std::vector<double> IndexerScores(const LightningIndexerShape& shape, const float* index_q,
                                  const float* head_weights, const float* index_pool, int64_t token);

// The op: keys written, then per token the index_topk best positions (descending score, ties: lower position), or
// every causal position in ascending order when p + 1 <= index_topk; -1 padding. With shape.rotary_dim > 0, q and k
// are rotated by `rope` first (reference/rope.h).
void LightningIndexer(const LightningIndexerShape& shape, const float* index_q, const float* index_k,
                      const float* head_weights, const RopeTables& rope, float* index_pool, int32_t* topk_indices);

}  // namespace glm_ops::reference
