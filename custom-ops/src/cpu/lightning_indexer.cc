#include "cpu/lightning_indexer.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/simd.h"
#include "cpu/top_k.h"

namespace glm_ops::cpu {

namespace {

// Keys scored per work item: large enough to amortise scheduling, small enough to balance a single decode token.
constexpr int64_t kKeysPerItem = 512;
// Keys ahead of the one being scored whose rows are prefetched (the next three-key step: measured best of 3 / 6 / 12).
constexpr int64_t kPrefetchKeys = 3;
// Scores kept in flight at once (floats): bounds scratch for long prefill chunks at long contexts.
constexpr int64_t kScoreBudget = int64_t{1} << 23;

struct IndexerQuery {
  int64_t token;
  int64_t sequence;
  int64_t keys;           // causal keys = position + 1
  int64_t score_offset;   // into the group's score buffer
  int64_t first_item;     // first work item of this query within its group
};

// One query laid out for key-blocked scoring: qt[d * padded + h] = q[h, d] (heads along the vector lanes), heads
// padded to a multiple of 8 with zero queries and zero weights, which add nothing to any score.
struct QueryPanel {
  std::vector<float> qt, w;
  int64_t padded = 0;

  void Load(const float* q, const float* weights, int64_t heads, int64_t dim) {
    padded = (heads + 7) & ~int64_t{7};
    qt.assign(static_cast<size_t>(padded * dim), 0.0f);
    w.assign(static_cast<size_t>(padded), 0.0f);
    for (int64_t h = 0; h < heads; ++h) {
      w[h] = weights[h];
      for (int64_t d = 0; d < dim; ++d) qt[d * padded + h] = q[h * dim + d];
    }
  }
};

// HV vectors of 8 heads against NK keys, accumulating sum_h w_h * ReLU(scale * q_h . k_j) into total[j] lanes. Per
// dimension: NK key broadcasts and HV query loads feed HV * NK FMAs (12 accumulators at HV = 4, NK = 3), and the
// dot products come out with heads in lanes, so no horizontal reduction is needed until the final per-key sum.
template <int HV, int NK>
inline void ScoreHeadChunk(const float* qt, int64_t padded, int64_t dim, const float* w, __m256 scale,
                           const float* const* keys, __m256* total) {
  __m256 acc[HV][NK];
  for (int v = 0; v < HV; ++v)
    for (int j = 0; j < NK; ++j) acc[v][j] = _mm256_setzero_ps();
  for (int64_t d = 0; d < dim; ++d) {
    __m256 k[NK];
    for (int j = 0; j < NK; ++j) k[j] = _mm256_broadcast_ss(keys[j] + d);
    const float* qd = qt + d * padded;
    for (int v = 0; v < HV; ++v) {
      const __m256 q = _mm256_loadu_ps(qd + 8 * v);
      for (int j = 0; j < NK; ++j) acc[v][j] = _mm256_fmadd_ps(q, k[j], acc[v][j]);
    }
  }
  const __m256 zero = _mm256_setzero_ps();
  for (int v = 0; v < HV; ++v) {
    const __m256 wv = _mm256_loadu_ps(w + 8 * v);
    for (int j = 0; j < NK; ++j)
      total[j] = _mm256_fmadd_ps(_mm256_max_ps(_mm256_mul_ps(acc[v][j], scale), zero), wv, total[j]);
  }
}

// Scores of NK keys for one query: head vectors four at a time, then the 1-3 left over.
template <int NK>
inline void ScoreKeys(const QueryPanel& panel, int64_t dim, float scale, const float* const* keys, float* scores) {
  __m256 total[NK];
  for (int j = 0; j < NK; ++j) total[j] = _mm256_setzero_ps();
  const __m256 vscale = _mm256_set1_ps(scale);
  const int64_t vectors = panel.padded / 8;
  const float* qt = panel.qt.data();
  const float* w = panel.w.data();
  int64_t v = 0;
  for (; v + 4 <= vectors; v += 4) ScoreHeadChunk<4, NK>(qt + 8 * v, panel.padded, dim, w + 8 * v, vscale, keys, total);
  switch (vectors - v) {
    case 3: ScoreHeadChunk<3, NK>(qt + 8 * v, panel.padded, dim, w + 8 * v, vscale, keys, total); break;
    case 2: ScoreHeadChunk<2, NK>(qt + 8 * v, panel.padded, dim, w + 8 * v, vscale, keys, total); break;
    case 1: ScoreHeadChunk<1, NK>(qt + 8 * v, panel.padded, dim, w + 8 * v, vscale, keys, total); break;
    default: break;
  }
  for (int j = 0; j < NK; ++j) scores[j] = simd::HorizontalSum(total[j]);
}

// Scores keys [begin, end) of one query's sequence into scores[begin..end), three keys at a time.
void ScoreRange(const LightningIndexerShape& s, const QueryPanel& panel, const float* pool, int64_t sequence,
                int64_t begin, int64_t end, float* scores) {
  const int64_t dim = s.head_dim;
  const float* keys[3];
  int64_t t = begin;
  for (; t + 3 <= end; t += 3) {
    for (int j = 0; j < 3; ++j) keys[j] = pool + s.batch.PoolRow(sequence, t + j) * dim;
    // The kernel reads a key one float per step, too slowly for the hardware prefetcher to run ahead of it: fetch
    // the keys kPrefetchKeys ahead explicitly.
    for (int64_t a = t + kPrefetchKeys; a < std::min(end, t + kPrefetchKeys + 3); ++a) {
      const char* row = reinterpret_cast<const char*>(pool + s.batch.PoolRow(sequence, a) * dim);
      for (int64_t b = 0; b < dim * static_cast<int64_t>(sizeof(float)); b += 64) _mm_prefetch(row + b, _MM_HINT_T0);
    }
    ScoreKeys<3>(panel, dim, s.scale, keys, scores + t);
  }
  for (int j = 0; t + j < end; ++j) keys[j] = pool + s.batch.PoolRow(sequence, t + j) * dim;
  if (end - t == 2) ScoreKeys<2>(panel, dim, s.scale, keys, scores + t);
  if (end - t == 1) ScoreKeys<1>(panel, dim, s.scale, keys, scores + t);
}

void WriteNewKeys(const LightningIndexerShape& s, const float* index_k, float* pool) {
  const size_t row_bytes = static_cast<size_t>(s.head_dim) * sizeof(float);
  for (int64_t b = 0; b < s.batch.num_sequences; ++b)
    for (int64_t j = 0; j < s.batch.NewTokens(b); ++j)
      std::memcpy(pool + s.batch.PoolRow(b, s.batch.past[b] + j) * s.head_dim,
                  index_k + (s.batch.cu[b] + j) * s.head_dim, row_bytes);
}

// Scores and selects for one group of queries whose scores fit the budget together.
void RunGroup(const Parallel& parallel, const LightningIndexerShape& s, const float* index_q, const float* head_weights,
              const float* pool, const std::vector<IndexerQuery>& group, int64_t items, std::vector<float>& scores,
              int32_t* topk_indices) {
  parallel.For(items, [&](int64_t item_begin, int64_t item_end) {
    // The query owning item_begin: the last one whose first item is <= it.
    size_t g = static_cast<size_t>(std::upper_bound(group.begin(), group.end(), item_begin,
                                                    [](int64_t item, const IndexerQuery& q) {
                                                      return item < q.first_item;
                                                    }) -
                                   group.begin()) -
               1;
    QueryPanel panel;  // a local, not thread_local: TLS lookups in the scoring loop cost more than the allocation
    size_t loaded = group.size();  // the query whose panel is loaded (none yet)
    for (int64_t item = item_begin; item < item_end; ++item) {
      while (g + 1 < group.size() && group[g + 1].first_item <= item) ++g;
      const IndexerQuery& query = group[g];
      if (loaded != g) {
        panel.Load(index_q + query.token * s.n_heads * s.head_dim, head_weights + query.token * s.n_heads, s.n_heads,
                   s.head_dim);
        loaded = g;
      }
      const int64_t begin = (item - query.first_item) * kKeysPerItem;
      const int64_t end = std::min(query.keys, begin + kKeysPerItem);
      ScoreRange(s, panel, pool, query.sequence, begin, end, scores.data() + query.score_offset);
    }
  });
  parallel.For(static_cast<int64_t>(group.size()), [&](int64_t begin, int64_t end) {
    std::vector<uint32_t> scratch;
    for (int64_t g = begin; g < end; ++g) {
      const IndexerQuery& query = group[g];
      SelectTopK(scores.data() + query.score_offset, query.keys, s.index_topk,
                 topk_indices + query.token * s.index_topk, scratch);
    }
  });
}

}  // namespace

void LightningIndexer(const Parallel& parallel, const LightningIndexerShape& s, const float* index_q,
                      const float* index_k, const float* head_weights, float* index_pool, int32_t* topk_indices) {
  WriteNewKeys(s, index_k, index_pool);

  thread_local std::vector<float> scores;
  std::vector<IndexerQuery> group;
  int64_t group_scores = 0, group_items = 0;
  auto flush = [&] {
    if (group.empty()) return;
    if (scores.size() < static_cast<size_t>(group_scores)) scores.resize(static_cast<size_t>(group_scores));
    RunGroup(parallel, s, index_q, head_weights, index_pool, group, group_items, scores, topk_indices);
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
