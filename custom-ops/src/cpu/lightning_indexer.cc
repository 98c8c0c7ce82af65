#include "cpu/lightning_indexer.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/simd.h"
#include "cpu/thread_pool.h"
#include "cpu/top_k.h"

namespace glm_ops::cpu {

namespace {

// Keys scored per work item: large enough to amortise scheduling, small enough to balance a single decode token.
constexpr int64_t kKeysPerItem = 512;
// Scores kept in flight at once (floats): bounds scratch for long prefill chunks at long contexts.
constexpr int64_t kScoreBudget = int64_t{1} << 23;

struct IndexerQuery {
  int64_t token;
  int64_t sequence;
  int64_t keys;           // causal keys = position + 1
  int64_t score_offset;   // into the group's score buffer
  int64_t first_item;     // first work item of this query within its group
};

// Scores of two keys for one query: sum over heads of w_h * ReLU(scale * q_h . k). Heads go four at a time so that
// eight dot products (4 heads x 2 keys) share one horizontal reduction.
inline void ScoreKeyPair(const float* q, const float* w, int64_t heads, int64_t dim, float scale, const float* k0,
                         const float* k1, float* s0, float* s1) {
  const int64_t dim8 = dim & ~int64_t{7};
  const __m256 vscale = _mm256_set1_ps(scale);
  const __m256 zero = _mm256_setzero_ps();
  __m256 total = _mm256_setzero_ps();  // lanes: (head, key) pairs, key = lane & 1
  int64_t h = 0;
  for (; h + 4 <= heads; h += 4) {
    __m256 acc[8] = {zero, zero, zero, zero, zero, zero, zero, zero};
    const float* q0 = q + h * dim;
    for (int64_t d = 0; d < dim8; d += 8) {
      const __m256 a = _mm256_loadu_ps(k0 + d);
      const __m256 b = _mm256_loadu_ps(k1 + d);
      for (int j = 0; j < 4; ++j) {
        const __m256 qv = _mm256_loadu_ps(q0 + j * dim + d);
        acc[2 * j] = _mm256_fmadd_ps(qv, a, acc[2 * j]);
        acc[2 * j + 1] = _mm256_fmadd_ps(qv, b, acc[2 * j + 1]);
      }
    }
    __m256 dots = simd::ReduceEight(acc);
    if (dim8 != dim) {
      alignas(32) float tail[8] = {};
      for (int j = 0; j < 4; ++j)
        for (int64_t d = dim8; d < dim; ++d) {
          tail[2 * j] += q0[j * dim + d] * k0[d];
          tail[2 * j + 1] += q0[j * dim + d] * k1[d];
        }
      dots = _mm256_add_ps(dots, _mm256_load_ps(tail));
    }
    const __m256 weights = _mm256_setr_ps(w[h], w[h], w[h + 1], w[h + 1], w[h + 2], w[h + 2], w[h + 3], w[h + 3]);
    total = _mm256_fmadd_ps(_mm256_max_ps(_mm256_mul_ps(dots, vscale), zero), weights, total);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, total);
  float r0 = lanes[0] + lanes[2] + lanes[4] + lanes[6];
  float r1 = lanes[1] + lanes[3] + lanes[5] + lanes[7];
  for (; h < heads; ++h) {
    r0 += w[h] * std::max(0.0f, scale * simd::Dot(q + h * dim, k0, dim));
    r1 += w[h] * std::max(0.0f, scale * simd::Dot(q + h * dim, k1, dim));
  }
  *s0 = r0;
  *s1 = r1;
}

// Scores keys [begin, end) of one query's sequence into scores[begin..end).
void ScoreRange(const LightningIndexerShape& s, const float* q, const float* w, const float* pool, int64_t sequence,
                int64_t begin, int64_t end, float* scores) {
  const int64_t dim = s.head_dim;
  int64_t t = begin;
  for (; t + 2 <= end; t += 2) {
    const float* k0 = pool + s.batch.PoolRow(sequence, t) * dim;
    const float* k1 = pool + s.batch.PoolRow(sequence, t + 1) * dim;
    ScoreKeyPair(q, w, s.n_heads, dim, s.scale, k0, k1, scores + t, scores + t + 1);
  }
  if (t < end) {
    const float* k0 = pool + s.batch.PoolRow(sequence, t) * dim;
    float unused;
    ScoreKeyPair(q, w, s.n_heads, dim, s.scale, k0, k0, scores + t, &unused);
  }
}

void WriteNewKeys(const LightningIndexerShape& s, const float* index_k, float* pool) {
  const size_t row_bytes = static_cast<size_t>(s.head_dim) * sizeof(float);
  for (int64_t b = 0; b < s.batch.num_sequences; ++b)
    for (int64_t j = 0; j < s.batch.NewTokens(b); ++j)
      std::memcpy(pool + s.batch.PoolRow(b, s.batch.past[b] + j) * s.head_dim,
                  index_k + (s.batch.cu[b] + j) * s.head_dim, row_bytes);
}

// Scores and selects for one group of queries whose scores fit the budget together.
void RunGroup(const LightningIndexerShape& s, const float* index_q, const float* head_weights, const float* pool,
              const std::vector<IndexerQuery>& group, int64_t items, std::vector<float>& scores,
              int32_t* topk_indices) {
  ParallelFor(items, [&](int64_t item_begin, int64_t item_end) {
    // The query owning item_begin: the last one whose first item is <= it.
    size_t g = static_cast<size_t>(std::upper_bound(group.begin(), group.end(), item_begin,
                                                    [](int64_t item, const IndexerQuery& q) {
                                                      return item < q.first_item;
                                                    }) -
                                   group.begin()) -
               1;
    for (int64_t item = item_begin; item < item_end; ++item) {
      while (g + 1 < group.size() && group[g + 1].first_item <= item) ++g;
      const IndexerQuery& query = group[g];
      const int64_t begin = (item - query.first_item) * kKeysPerItem;
      const int64_t end = std::min(query.keys, begin + kKeysPerItem);
      ScoreRange(s, index_q + query.token * s.n_heads * s.head_dim, head_weights + query.token * s.n_heads, pool,
                 query.sequence, begin, end, scores.data() + query.score_offset);
    }
  });
  ParallelFor(static_cast<int64_t>(group.size()), [&](int64_t begin, int64_t end) {
    std::vector<uint32_t> scratch;
    for (int64_t g = begin; g < end; ++g) {
      const IndexerQuery& query = group[g];
      SelectTopK(scores.data() + query.score_offset, query.keys, s.index_topk,
                 topk_indices + query.token * s.index_topk, scratch);
    }
  });
}

}  // namespace

void LightningIndexer(const LightningIndexerShape& s, const float* index_q, const float* index_k,
                      const float* head_weights, float* index_pool, int32_t* topk_indices) {
  WriteNewKeys(s, index_k, index_pool);

  thread_local std::vector<float> scores;
  std::vector<IndexerQuery> group;
  int64_t group_scores = 0, group_items = 0;
  auto flush = [&] {
    if (group.empty()) return;
    if (scores.size() < static_cast<size_t>(group_scores)) scores.resize(static_cast<size_t>(group_scores));
    RunGroup(s, index_q, head_weights, index_pool, group, group_items, scores, topk_indices);
    group.clear();
    group_scores = group_items = 0;
  };

  for (int64_t b = 0; b < s.batch.num_sequences; ++b) {
    for (int64_t j = 0; j < s.batch.NewTokens(b); ++j) {
      const int64_t token = s.batch.cu[b] + j;
      const int64_t keys = s.batch.past[b] + j + 1;
      int32_t* row = topk_indices + token * s.index_topk;
      if (keys <= s.index_topk) {
        // Every causal position is selected; no scoring needed (the contract fixes ascending order here).
        for (int64_t t = 0; t < s.index_topk; ++t) row[t] = t < keys ? static_cast<int32_t>(t) : -1;
        continue;
      }
      if (!group.empty() && group_scores + keys > kScoreBudget) flush();
      group.push_back({token, b, keys, group_scores, group_items});
      group_scores += keys;
      group_items += (keys + kKeysPerItem - 1) / kKeysPerItem;
    }
  }
  flush();
}

}  // namespace glm_ops::cpu
