#include "reference/lightning_indexer.h"

#include <algorithm>
#include <numeric>

#include "reference/paged_rows.h"
#include "reference/rope.h"

namespace glm_ops::reference {

void WriteIndexerKeys(const LightningIndexerShape& s, const float* index_k, float* pool) {
  const PagedBatch& b = s.batch;
  const int64_t dim = s.head_dim;
  for (int64_t t = 0; t < s.tokens; ++t) {
    const int64_t seq = SequenceOf(b, t);
    std::copy(index_k + t * dim, index_k + (t + 1) * dim, pool + b.PoolRow(seq, PositionOf(b, t)) * dim);
  }
}

std::vector<double> IndexerScores(const LightningIndexerShape& s, const float* q, const float* w, const float* pool,
                                  int64_t token) {
  const PagedBatch& b = s.batch;
  const int64_t dim = s.head_dim, heads = s.n_heads;
  const int64_t seq = SequenceOf(b, token), position = PositionOf(b, token);
  std::vector<double> scores(static_cast<size_t>(position + 1));
  for (int64_t key = 0; key <= position; ++key) {
    const float* k = pool + b.PoolRow(seq, key) * dim;
    double total = 0;
    for (int64_t h = 0; h < heads; ++h) {
      double dot = 0;
      for (int64_t d = 0; d < dim; ++d) dot += static_cast<double>(q[(token * heads + h) * dim + d]) * k[d];
      total += w[token * heads + h] * std::max(0.0, s.scale * dot);
    }
    scores[key] = total;
  }
  return scores;
}

void LightningIndexer(const LightningIndexerShape& s, const float* q, const float* k, const float* w,
                      const RopeTables& rope, float* pool, int32_t* out) {
  const QueryKey qk(q, k, s.tokens, s.n_heads, s.head_dim, s.rotary_dim, rope, Rotated);
  q = qk.q();
  k = qk.k();
  WriteIndexerKeys(s, k, pool);
  const int64_t top = s.index_topk;
  for (int64_t t = 0; t < s.tokens; ++t) {
    const int64_t position = PositionOf(s.batch, t);
    int32_t* row = out + t * top;
    if (position + 1 <= top) {
      for (int64_t j = 0; j < top; ++j) row[j] = j <= position ? static_cast<int32_t>(j) : -1;
      continue;
    }
    const std::vector<double> score = IndexerScores(s, q, w, pool, t);
    std::vector<int32_t> order(score.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t c) { return score[a] > score[c]; });
    std::copy(order.begin(), order.begin() + top, row);
  }
}

}  // namespace glm_ops::reference
