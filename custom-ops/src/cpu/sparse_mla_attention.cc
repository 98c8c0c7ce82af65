#include "cpu/sparse_mla_attention.h"

#include <algorithm>
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

// Walks the attended positions of one token: the selected causal ones, or 0..position when there is no selection.
class PositionCursor {
 public:
  PositionCursor(const int32_t* selection, int64_t selected, int64_t position, int tile)
      : selection_(selection), selected_(selected), position_(position), tile_(tile) {}

  // Fills up to `tile` positions; returns how many.
  int Next(int64_t* positions) {
    int n = 0;
    if (!selection_) {
      while (n < tile_ && next_ <= position_) positions[n++] = next_++;
      return n;
    }
    while (n < tile_ && next_ < selected_) {
      const int64_t p = selection_[next_++];
      if (p >= 0 && p <= position_) positions[n++] = p;  // -1 padding and future positions are ignored
    }
    return n;
  }

 private:
  const int32_t* selection_;
  int64_t selected_;
  int64_t position_;
  int tile_;
  int64_t next_ = 0;
};

void AttendHeads(const SparseMlaKernels& kernels, const SparseMlaShape& s, const float* pool, int64_t sequence,
                 int64_t position, const int32_t* selection, const float* q_latent, const float* q_rope,
                 int64_t head_begin, int64_t head_end, float* out) {
  const int64_t rank = s.kv_lora_rank, rope = s.rope_dim, width = rank + rope;
  const int64_t heads = head_end - head_begin;
  float* o = out + head_begin * rank;
  std::fill(o, o + heads * rank, 0.0f);
  SparseMlaHeadState state[kMaxHeadGroup];
  for (int64_t h = 0; h < heads; ++h) state[h] = {-std::numeric_limits<float>::infinity(), 0.0f};

  const int tile = kernels.tile_rows;
  PositionCursor cursor(selection, s.topk, position, tile);
  int64_t positions[kMaxTile];
  const float* rows[kMaxTile];
  for (int n; (n = cursor.Next(positions)) > 0;) {
    for (int j = 0; j < n; ++j) rows[j] = pool + s.batch.PoolRow(sequence, positions[j]) * width;
    for (int j = n; j < tile; ++j) rows[j] = rows[0];
    kernels.attend_tile(rows, n, heads, q_latent + head_begin * rank, q_rope + head_begin * rope, rank, rope,
                        s.softmax_scale, state, o);
  }
  for (int64_t h = 0; h < heads; ++h) {
    if (state[h].sum <= 0.0f) continue;  // no attended position: zeros
    const float inv = 1.0f / state[h].sum;
    for (int64_t d = 0; d < rank; ++d) o[h * rank + d] *= inv;
  }
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

  // Work item = (token, group of heads). A group shares each loaded cache row between its heads; enough groups
  // keep every thread busy on a single decode token.
  const int64_t threads = parallel.Threads();
  int64_t group = std::min(s.n_heads, kMaxHeadGroup);
  while (group > 4 && s.tokens * ((s.n_heads + group - 1) / group) < 4 * threads) group = (group + 1) / 2;
  const int64_t groups_per_token = (s.n_heads + group - 1) / group;

  const SparseMlaKernels& kernels = ActiveSparseMlaKernels();
  parallel.For(s.tokens * groups_per_token, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t token = item / groups_per_token;
      const int64_t head_begin = (item % groups_per_token) * group;
      const int64_t head_end = std::min(s.n_heads, head_begin + group);
      const int64_t b = token_sequence[token];
      const int64_t position = s.batch.past[b] + (token - s.batch.cu[b]);
      AttendHeads(kernels, s, latent_pool, b, position, topk_indices ? topk_indices + token * s.topk : nullptr,
                  q_latent + token * s.n_heads * s.kv_lora_rank, q_rope + token * s.n_heads * s.rope_dim, head_begin,
                  head_end, out + token * s.n_heads * s.kv_lora_rank);
    }
  });
}

const SparseMlaKernels& ActiveSparseMlaKernels() {
  return ActiveIsa() == Isa::kAvx512 ? SparseMlaKernelsAvx512() : SparseMlaKernelsAvx2();
}

}  // namespace glm_ops::cpu
