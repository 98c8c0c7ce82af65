#include "cpu/lightning_indexer.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/isa_dispatch.h"
#include "cpu/lightning_indexer_kernels.h"
#include "cpu/rope.h"
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

// One query laid out for the key-scoring kernel: qt[d * padded + h] = q[h, d] (heads along the vector lanes), heads
// padded to a multiple of the kernel's lanes with zero queries and zero weights, which add nothing to any score.
struct QueryPanel {
  std::vector<float> qt, w;
  int64_t padded = 0;

  void Load(const float* q, const float* weights, int64_t heads, int64_t dim, int64_t lanes) {
    padded = (heads + lanes - 1) / lanes * lanes;
    qt.assign(static_cast<size_t>(padded * dim), 0.0f);
    w.assign(static_cast<size_t>(padded), 0.0f);
    for (int64_t h = 0; h < heads; ++h) {
      w[h] = weights[h];
      for (int64_t d = 0; d < dim; ++d) qt[d * padded + h] = q[h * dim + d];
    }
  }
};

// Scores keys [begin, end) (at most kKeysPerItem) of one query's sequence into scores[begin..end).
void ScoreRange(const LightningIndexerKernels& kernels, const LightningIndexerShape& s, const QueryPanel& panel,
                const float* pool, int64_t sequence, int64_t begin, int64_t end, float* scores) {
  const float* keys[kKeysPerItem];
  for (int64_t t = begin; t < end; ++t) keys[t - begin] = pool + s.batch.PoolRow(sequence, t) * s.head_dim;
  kernels.score_keys(panel.qt.data(), panel.w.data(), panel.padded, s.head_dim, s.scale, keys, end - begin,
                     scores + begin);
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
  const LightningIndexerKernels& kernels = ActiveLightningIndexerKernels();
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
                   s.head_dim, kernels.head_lanes);
        loaded = g;
      }
      const int64_t begin = (item - query.first_item) * kKeysPerItem;
      const int64_t end = std::min(query.keys, begin + kKeysPerItem);
      ScoreRange(kernels, s, panel, pool, query.sequence, begin, end, scores.data() + query.score_offset);
    }
  });
  parallel.For(static_cast<int64_t>(group.size()), [&](int64_t begin, int64_t end) {
    std::vector<uint64_t> scratch;
    for (int64_t g = begin; g < end; ++g) {
      const IndexerQuery& query = group[g];
      SelectTopK(scores.data() + query.score_offset, query.keys, s.index_topk,
                 topk_indices + query.token * s.index_topk, scratch);
    }
  });
}

}  // namespace

void LightningIndexer(const Parallel& parallel, const LightningIndexerShape& s, const float* index_q,
                      const float* index_k, const float* head_weights, const RopeTables& rope, float* index_pool,
                      int32_t* topk_indices) {
  const QueryKey qk(index_q, index_k, s.tokens, s.n_heads, s.head_dim, s.rotary_dim, rope, RotatedCopy);
  index_q = qk.q();
  index_k = qk.k();
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

const LightningIndexerKernels& ActiveLightningIndexerKernels() {
  return ActiveIsa() == Isa::kAvx512 ? LightningIndexerKernelsAvx512() : LightningIndexerKernelsAvx2();
}

}  // namespace glm_ops::cpu
