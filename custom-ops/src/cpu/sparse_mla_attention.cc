#include "cpu/sparse_mla_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "cpu/simd.h"

namespace glm_ops::cpu {

namespace {

constexpr int kTile = 8;  // cache rows scored together (one 8-lane vector of scores)

// Walks the attended positions of one token: the selected causal ones, or 0..position when there is no selection.
class PositionCursor {
 public:
  PositionCursor(const int32_t* selection, int64_t selected, int64_t position)
      : selection_(selection), selected_(selected), position_(position) {}

  // Fills up to kTile positions; returns how many.
  int Next(int64_t* positions) {
    int n = 0;
    if (!selection_) {
      while (n < kTile && next_ <= position_) positions[n++] = next_++;
      return n;
    }
    while (n < kTile && next_ < selected_) {
      const int64_t p = selection_[next_++];
      if (p >= 0 && p <= position_) positions[n++] = p;  // -1 padding and future positions are ignored
    }
    return n;
  }

 private:
  const int32_t* selection_;
  int64_t selected_;
  int64_t position_;
  int64_t next_ = 0;
};

// Eight scores of one head against a full tile of rows: q_latent . c_j + q_rope . r_j, unscaled. Loops run over the
// constant kTile (short tiles repeat a row) so the accumulators stay in registers.
inline __m256 TileScores(const float* ql, const float* qr, const float* const* rows, int64_t rank, int64_t rope) {
  const __m256 zero = _mm256_setzero_ps();
  __m256 acc[kTile] = {zero, zero, zero, zero, zero, zero, zero, zero};
  const int64_t rank8 = rank & ~int64_t{7}, rope8 = rope & ~int64_t{7};
  for (int64_t d = 0; d < rank8; d += 8) {
    const __m256 q = _mm256_loadu_ps(ql + d);
    for (int j = 0; j < kTile; ++j) acc[j] = _mm256_fmadd_ps(q, _mm256_loadu_ps(rows[j] + d), acc[j]);
  }
  for (int64_t d = 0; d < rope8; d += 8) {
    const __m256 q = _mm256_loadu_ps(qr + d);
    for (int j = 0; j < kTile; ++j) acc[j] = _mm256_fmadd_ps(q, _mm256_loadu_ps(rows[j] + rank + d), acc[j]);
  }
  __m256 scores = simd::ReduceEight(acc);
  if (rank8 != rank || rope8 != rope) {
    alignas(32) float tail[kTile] = {};
    for (int j = 0; j < kTile; ++j) {
      for (int64_t d = rank8; d < rank; ++d) tail[j] += ql[d] * rows[j][d];
      for (int64_t d = rope8; d < rope; ++d) tail[j] += qr[d] * rows[j][rank + d];
    }
    scores = _mm256_add_ps(scores, _mm256_load_ps(tail));
  }
  return scores;
}

// o = o * alpha + sum_j p[j] * c_j over the latent part of a full tile (padding rows carry p = 0).
inline void AccumulateTile(float* o, float alpha, const float* p, const float* const* rows, int64_t rank) {
  const int64_t rank8 = rank & ~int64_t{7};
  const __m256 va = _mm256_set1_ps(alpha);
  __m256 vp[kTile];
  for (int j = 0; j < kTile; ++j) vp[j] = _mm256_set1_ps(p[j]);
  for (int64_t d = 0; d < rank8; d += 8) {
    __m256 acc = _mm256_mul_ps(_mm256_loadu_ps(o + d), va);
    for (int j = 0; j < kTile; ++j) acc = _mm256_fmadd_ps(vp[j], _mm256_loadu_ps(rows[j] + d), acc);
    _mm256_storeu_ps(o + d, acc);
  }
  for (int64_t d = rank8; d < rank; ++d) {
    float acc = o[d] * alpha;
    for (int j = 0; j < kTile; ++j) acc += p[j] * rows[j][d];
    o[d] = acc;
  }
}

struct HeadState {
  float max;
  float sum;
};

void AttendHeads(const SparseMlaShape& s, const float* pool, int64_t sequence, int64_t position,
                 const int32_t* selection, const float* q_latent, const float* q_rope, int64_t head_begin,
                 int64_t head_end, float* out) {
  const int64_t rank = s.kv_lora_rank, rope = s.rope_dim, width = rank + rope;
  const float scale = s.softmax_scale;
  const int64_t heads = head_end - head_begin;
  float* o = out + head_begin * rank;
  std::fill(o, o + heads * rank, 0.0f);
  HeadState state[64];
  std::vector<HeadState> many;  // only for absurd head groups; keeps the common path allocation-free
  HeadState* st = state;
  if (heads > 64) {
    many.resize(static_cast<size_t>(heads));
    st = many.data();
  }
  for (int64_t h = 0; h < heads; ++h) st[h] = {-std::numeric_limits<float>::infinity(), 0.0f};

  PositionCursor cursor(selection, s.topk, position);
  int64_t positions[kTile];
  const float* rows[kTile];
  const __m256 lane = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256 minus_inf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  for (int n; (n = cursor.Next(positions)) > 0;) {
    for (int j = 0; j < n; ++j) rows[j] = pool + s.batch.PoolRow(sequence, positions[j]) * width;
    for (int j = n; j < kTile; ++j) rows[j] = rows[0];
    const __m256 valid = _mm256_cmp_ps(lane, _mm256_set1_ps(static_cast<float>(n)), _CMP_LT_OQ);
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t head = head_begin + h;
      __m256 scores = _mm256_mul_ps(TileScores(q_latent + head * rank, q_rope + head * rope, rows, rank, rope),
                                    _mm256_set1_ps(scale));
      scores = _mm256_blendv_ps(minus_inf, scores, valid);
      const float tile_max = simd::HorizontalMax(scores);
      const float new_max = std::max(st[h].max, tile_max);
      const float alpha = std::exp(st[h].max - new_max);  // 0 on the first tile (max was -inf)
      alignas(32) float p[kTile];
      const __m256 vp = simd::Exp(_mm256_sub_ps(scores, _mm256_set1_ps(new_max)));
      _mm256_store_ps(p, vp);
      st[h].sum = st[h].sum * alpha + simd::HorizontalSum(vp);
      st[h].max = new_max;
      AccumulateTile(o + h * rank, alpha, p, rows, rank);
    }
  }
  for (int64_t h = 0; h < heads; ++h) {
    if (st[h].sum <= 0.0f) continue;  // no attended position: zeros
    const float inv = 1.0f / st[h].sum;
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
                        const float* kv_latent, const float* k_rope, float* latent_pool, const int32_t* topk_indices,
                        float* out) {
  WriteNewRows(s, kv_latent, k_rope, latent_pool);

  std::vector<int64_t> token_sequence(static_cast<size_t>(s.tokens));
  for (int64_t b = 0; b < s.batch.num_sequences; ++b)
    for (int64_t t = s.batch.cu[b]; t < s.batch.cu[b + 1]; ++t) token_sequence[t] = b;

  // Work item = (token, group of heads). A group shares each loaded cache row between its heads; enough groups
  // keep every thread busy on a single decode token.
  const int64_t threads = parallel.Threads();
  int64_t group = s.n_heads;
  while (group > 4 && s.tokens * ((s.n_heads + group - 1) / group) < 4 * threads) group = (group + 1) / 2;
  const int64_t groups_per_token = (s.n_heads + group - 1) / group;

  parallel.For(s.tokens * groups_per_token, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) {
      const int64_t token = item / groups_per_token;
      const int64_t head_begin = (item % groups_per_token) * group;
      const int64_t head_end = std::min(s.n_heads, head_begin + group);
      const int64_t b = token_sequence[token];
      const int64_t position = s.batch.past[b] + (token - s.batch.cu[b]);
      AttendHeads(s, latent_pool, b, position, topk_indices ? topk_indices + token * s.topk : nullptr,
                  q_latent + token * s.n_heads * s.kv_lora_rank, q_rope + token * s.n_heads * s.rope_dim, head_begin,
                  head_end, out + token * s.n_heads * s.kv_lora_rank);
    }
  });
}

}  // namespace glm_ops::cpu
