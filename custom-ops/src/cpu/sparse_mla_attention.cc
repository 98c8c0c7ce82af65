#include "cpu/sparse_mla_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "cpu/isa_dispatch.h"
#include "cpu/rope.h"
#include "cpu/sparse_mla_kernels.h"

namespace glm_ops::cpu {

namespace {

constexpr int kMaxTile = kSparseMlaMaxTile;
// Heads per work item at most: their running states live on the stack.
constexpr int64_t kMaxHeadGroup = 64;
// Attended positions per split of a token's walk at least (a split's partial output costs a merge).
constexpr int64_t kMinSplitPositions = 64;

// Walks entries [first, last) of one token's attended positions: of its selection (causal ones only), or of the
// positions 0..position when there is no selection.
class PositionCursor {
 public:
  PositionCursor(const int32_t* selection, int64_t position, int64_t first, int64_t last, int tile)
      : selection_(selection), position_(position), next_(first), last_(selection ? last : std::min(last, position + 1)),
        tile_(tile) {}

  // Fills up to `tile` positions; returns how many.
  int Next(int64_t* positions) {
    int n = 0;
    if (!selection_) {
      while (n < tile_ && next_ < last_) positions[n++] = next_++;
      return n;
    }
    while (n < tile_ && next_ < last_) {
      const int64_t p = selection_[next_++];
      if (p >= 0 && p <= position_) positions[n++] = p;  // -1 padding and future positions are ignored
    }
    return n;
  }

 private:
  const int32_t* selection_;
  int64_t position_;
  int64_t next_;
  int64_t last_;
  int tile_;
};

// Heads [head_begin, head_end) of one token over entries [first, last) of its walk: o [heads, rank] unnormalised and
// the heads' softmax states (an empty walk leaves o zero and the sums zero).
void AttendRange(const SparseMlaKernels& kernels, const SparseMlaShape& s, const float* pool, int64_t sequence,
                 int64_t position, const int32_t* selection, int64_t first, int64_t last, const float* q_latent,
                 const float* q_rope, int64_t head_begin, int64_t head_end, float* o, SparseMlaHeadState* state) {
  const int64_t rank = s.kv_lora_rank, rope = s.rope_dim, width = rank + rope;
  const int64_t heads = head_end - head_begin;
  std::fill(o, o + heads * rank, 0.0f);
  for (int64_t h = 0; h < heads; ++h) state[h] = {-std::numeric_limits<float>::infinity(), 0.0f};

  const int tile = kernels.tile_rows;
  PositionCursor cursor(selection, position, first, last, tile);
  int64_t positions[kMaxTile];
  const float* rows[kMaxTile];
  for (int n; (n = cursor.Next(positions)) > 0;) {
    for (int j = 0; j < n; ++j) rows[j] = pool + s.batch.PoolRow(sequence, positions[j]) * width;
    for (int j = n; j < tile; ++j) rows[j] = rows[0];
    kernels.attend_tile(rows, n, heads, q_latent + head_begin * rank, q_rope + head_begin * rope, rank, rope,
                        s.softmax_scale, state, o);
  }
}

// out[h] = o[h] / sum[h] for each head (zeros where no position was attended).
void Normalize(const SparseMlaHeadState* state, int64_t heads, int64_t rank, float* o) {
  for (int64_t h = 0; h < heads; ++h) {
    if (state[h].sum <= 0.0f) continue;  // no attended position: zeros
    const float inv = 1.0f / state[h].sum;
    for (int64_t d = 0; d < rank; ++d) o[h * rank + d] *= inv;
  }
}

// One head's splits merged: out = sum_i e^(m_i - M) o_i / sum_i e^(m_i - M) s_i, M the largest m_i of a split that
// attended anything (o_i, s_i, m_i: split i's unnormalised output, sum and maximum; o_i at stride `o_stride`).
void MergeSplits(const float* o, int64_t o_stride, const SparseMlaHeadState* state, int64_t state_stride,
                 int64_t splits, int64_t rank, float* out) {
  float top = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < splits; ++i)
    if (state[i * state_stride].sum > 0.0f) top = std::max(top, state[i * state_stride].max);
  std::fill(out, out + rank, 0.0f);
  float total = 0.0f;
  for (int64_t i = 0; i < splits; ++i) {
    const SparseMlaHeadState& st = state[i * state_stride];
    if (st.sum <= 0.0f) continue;
    const float weight = std::exp(st.max - top);
    total += weight * st.sum;
    const float* oi = o + i * o_stride;
    for (int64_t d = 0; d < rank; ++d) out[d] += weight * oi[d];
  }
  if (total <= 0.0f) return;  // no attended position: zeros
  const float inv = 1.0f / total;
  for (int64_t d = 0; d < rank; ++d) out[d] *= inv;
}

// The work items of a call: (token, group of `group` heads, split `splits` ways of the token's attended positions).
struct WorkPlan {
  int64_t group;
  int64_t splits;

  int64_t GroupsPerToken(const SparseMlaShape& s) const { return (s.n_heads + group - 1) / group; }
  int64_t Items(const SparseMlaShape& s) const { return s.tokens * GroupsPerToken(s) * splits; }
};

// What a call whose walks split keeps: each token's attended count (and, with a selection, its causal entries in
// order at attended[t * topk], so the splits share them evenly), and the splits' unnormalised outputs
// [T, splits, n_heads, rank] and softmax states [T, splits, n_heads].
struct SplitScratch {
  std::vector<int32_t> attended;
  std::vector<int64_t> counts;
  std::vector<float> partial;
  std::vector<SparseMlaHeadState> states;

  void Count(const SparseMlaShape& s, const std::vector<int64_t>& token_sequence, const int32_t* topk_indices) {
    counts.assign(static_cast<size_t>(s.tokens), 0);
    if (topk_indices) attended.resize(static_cast<size_t>(s.tokens * s.topk));
    for (int64_t t = 0; t < s.tokens; ++t) {
      const int64_t b = token_sequence[t], position = s.batch.past[b] + (t - s.batch.cu[b]);
      if (!topk_indices) {
        counts[t] = position + 1;
        continue;
      }
      int32_t* kept = attended.data() + t * s.topk;
      for (int64_t k = 0; k < s.topk; ++k) {
        const int32_t p = topk_indices[t * s.topk + k];
        if (p >= 0 && p <= position) kept[counts[t]++] = p;
      }
    }
  }
};

// A group shares each loaded cache row between its heads (the kernel walks the group's head blocks over a tile in
// cache), so a token's heads form as few groups as the stack's states allow. When that leaves threads idle (decode),
// each token's attended positions split into ranges whose unnormalised outputs and softmax states merge afterwards
// (flash decoding), rather than smaller head groups each reading every attended row again; only walks too short to
// split (kMinSplitPositions) take smaller groups, down to 4 heads. Counts the attended positions into `scratch` when
// it considers splitting.
WorkPlan PlanWork(const SparseMlaShape& s, int threads, const int32_t* topk_indices,
                  const std::vector<int64_t>& token_sequence, SplitScratch& scratch) {
  const int64_t wanted = 4 * static_cast<int64_t>(threads);
  WorkPlan plan{std::min(s.n_heads, kMaxHeadGroup), 1};
  if (s.tokens == 0 || plan.Items(s) >= wanted) return plan;
  scratch.Count(s, token_sequence, topk_indices);
  const int64_t longest = *std::max_element(scratch.counts.begin(), scratch.counts.end());
  const int64_t items = plan.Items(s);
  plan.splits = std::max<int64_t>(1, std::min((wanted + items - 1) / items, longest / kMinSplitPositions));
  while (plan.group > 4 && plan.Items(s) < wanted) plan.group = (plan.group + 1) / 2;
  return plan;
}

void WriteNewRows(const SparseMlaShape& s, const float* kv_latent, const float* k_rope, float* pool) {
  const int64_t rank = s.kv_lora_rank, rope = s.rope_dim, width = rank + rope;
  for (int64_t b = 0; b < s.batch.num_sequences; ++b)
    for (int64_t j = 0; j < s.batch.NewTokens(b); ++j) {
      const int64_t token = s.batch.cu[b] + j;
      float* row = pool + s.batch.PoolRow(b, s.batch.past[b] + j) * width;
      std::memcpy(row, kv_latent + token * rank, static_cast<size_t>(rank) * sizeof(float));
      std::memcpy(row + rank, k_rope + token * rope, static_cast<size_t>(rope) * sizeof(float));
    }
}

}  // namespace

void SparseMlaAttention(const Parallel& parallel, const SparseMlaShape& s, const float* q_latent, const float* q_rope,
                        const float* kv_latent, const float* k_rope, const RopeTables& rope, float* latent_pool,
                        const int32_t* topk_indices, float* out) {
  const QueryKey qk(q_rope, k_rope, s.tokens, s.n_heads, s.rope_dim, s.rotate ? s.rope_dim : 0, rope, RotatedCopy);
  q_rope = qk.q();
  k_rope = qk.k();
  WriteNewRows(s, kv_latent, k_rope, latent_pool);

  std::vector<int64_t> token_sequence(static_cast<size_t>(s.tokens));
  for (int64_t b = 0; b < s.batch.num_sequences; ++b)
    for (int64_t t = s.batch.cu[b]; t < s.batch.cu[b + 1]; ++t) token_sequence[t] = b;

  thread_local SplitScratch scratch_buffer;  // the calling thread's; the items only read its counts and entries
  SplitScratch& scratch = scratch_buffer;
  const WorkPlan plan = PlanWork(s, parallel.Threads(), topk_indices, token_sequence, scratch);
  const int64_t splits = plan.splits, groups_per_token = plan.GroupsPerToken(s), rank = s.kv_lora_rank;
  if (splits > 1) {
    scratch.partial.resize(static_cast<size_t>(s.tokens * splits * s.n_heads * rank));
    scratch.states.resize(static_cast<size_t>(s.tokens * splits * s.n_heads));
  }
  const int64_t walk = topk_indices ? s.topk : std::numeric_limits<int64_t>::max();  // an unsplit token's whole walk

  const SparseMlaKernels& kernels = ActiveSparseMlaKernels();
  parallel.For(plan.Items(s), [&](int64_t begin, int64_t end) {
    SparseMlaHeadState state[kMaxHeadGroup];
    for (int64_t item = begin; item < end; ++item) {
      const int64_t split = item % splits, token = item / splits / groups_per_token;
      const int64_t head_begin = (item / splits % groups_per_token) * plan.group;
      const int64_t head_end = std::min(s.n_heads, head_begin + plan.group);
      const int64_t b = token_sequence[token];
      const int64_t position = s.batch.past[b] + (token - s.batch.cu[b]);
      const int32_t* selection = topk_indices ? topk_indices + token * s.topk : nullptr;
      const float* ql = q_latent + token * s.n_heads * rank;
      const float* qr = q_rope + token * s.n_heads * s.rope_dim;
      if (splits == 1) {
        float* o = out + (token * s.n_heads + head_begin) * rank;
        AttendRange(kernels, s, latent_pool, b, position, selection, 0, walk, ql, qr, head_begin, head_end, o, state);
        Normalize(state, head_end - head_begin, rank, o);
        continue;
      }
      const int64_t count = scratch.counts[token], length = (count + splits - 1) / splits, first = split * length;
      const int64_t at = (token * splits + split) * s.n_heads + head_begin;
      AttendRange(kernels, s, latent_pool, b, position, selection ? scratch.attended.data() + token * s.topk : nullptr,
                  first, std::min(count, first + length), ql, qr, head_begin, head_end,
                  scratch.partial.data() + at * rank, state);
      std::copy(state, state + (head_end - head_begin), scratch.states.data() + at);
    }
  });
  if (splits == 1) return;
  // The merge, (token, head) pairs across the pool in pieces of at least ~16K floats of partial outputs.
  const int64_t grain = std::max<int64_t>(1, 16384 / (splits * rank));
  parallel.For(
      s.tokens * s.n_heads,
      [&](int64_t begin, int64_t end) {
        for (int64_t pair = begin; pair < end; ++pair) {
          const int64_t token = pair / s.n_heads, h = pair % s.n_heads;
          const int64_t at = token * splits * s.n_heads + h;  // split 0's entry; split i is i * n_heads further
          MergeSplits(scratch.partial.data() + at * rank, s.n_heads * rank, scratch.states.data() + at, s.n_heads,
                      splits, rank, out + pair * rank);
        }
      },
      grain);
}

const SparseMlaKernels& ActiveSparseMlaKernels() {
  return ActiveIsa() == Isa::kAvx512 ? SparseMlaKernelsAvx512() : SparseMlaKernelsAvx2();
}

}  // namespace glm_ops::cpu
