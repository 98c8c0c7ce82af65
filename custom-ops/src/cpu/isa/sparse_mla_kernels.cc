// SparseMlaAttention's tile kernel (cpu/sparse_mla_kernels.h), compiled once per instruction set
// (custom-ops/CMakeLists.txt globs src/cpu/isa/). AVX2: tiles of 8 rows, one head at a time, 8-lane vectors, every
// row of the tile read once per head. AVX-512: tiles of 16 rows (one softmax step and one load / store of a head's
// output per 16 rows), blocks of kHeadBlock heads against the tile, 16-lane vectors, each row vector loaded once per
// head block (scores in kHeadBlock x 4 register blocks, the weighted sum in kHeadBlock x 3 output vectors held in
// registers over the tile's rows); widths that are not multiples of 16 end in masked loads. Same online-softmax
// arithmetic on both.
// GCC 12's 512-bit extract intrinsic passes _mm512_undefined_*() as the unused merge source, which its
// -W(maybe-)uninitialized reports once inlined (a false positive: the mask selects every lane of the result).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>
#include <math.h>

#include "cpu/simd.h"
#include "cpu/sparse_mla_kernels.h"

namespace glm_ops::cpu {

namespace {

// 8 of a tile's raw scores, scaled; lanes not in `valid` are -inf (they take no part in the softmax).
inline __m256 ScaledScores(__m256 raw, float scale, __m256 valid) {
  return _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_mul_ps(raw, _mm256_set1_ps(scale)), valid);
}

// The online-softmax step of one head over a tile's scaled scores (T / 8 vectors of 8): writes p and returns alpha.
template <int T>
inline float SoftmaxStep(const __m256 (&scores)[T / 8], SparseMlaHeadState& st, float* p) {
  float tile_max = simd::HorizontalMax(scores[0]);
  for (int i = 1; i < T / 8; ++i) tile_max = fmaxf(tile_max, simd::HorizontalMax(scores[i]));
  const float new_max = st.max > tile_max ? st.max : tile_max;
  const float alpha = expf(st.max - new_max);  // 0 on the first tile (max was -inf)
  const __m256 m = _mm256_set1_ps(new_max);
  __m256 sum = _mm256_setzero_ps();
  for (int i = 0; i < T / 8; ++i) {
    const __m256 vp = simd::Exp(_mm256_sub_ps(scores[i], m));
    _mm256_storeu_ps(p + 8 * i, vp);
    sum = _mm256_add_ps(sum, vp);
  }
  st.sum = st.sum * alpha + simd::HorizontalSum(sum);
  st.max = new_max;
  return alpha;
}

// Lanes [8 * half, 8 * half + 8) of a tile that are below `valid`.
inline __m256 ValidLanes(int valid, int half = 0) {
  return _mm256_cmp_ps(_mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_ps(static_cast<float>(valid - 8 * half)),
                       _CMP_LT_OQ);
}

#if defined(GLM_OPS_ISA_AVX512)

constexpr int kTile = 16;      // cache rows per tile
constexpr int kLanes = 16;
constexpr int kHeadBlock = 4;  // heads sharing each loaded row vector
constexpr int kQuarter = 4;    // rows per score register block (kHeadBlock x kQuarter accumulators)

inline __mmask16 FirstLanes(int64_t n) { return static_cast<__mmask16>((1u << n) - 1u); }

// The two 8-lane halves of v added.
inline __m256 Fold(__m512 v) {
  return _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

// acc[h][j] += q[h][0..n) * rows[j][offset + 0..n), lane-wise.
template <int H>
inline void DotBlock(const float* const* q, int64_t n, const float* const* rows, int64_t offset,
                     __m512 (&acc)[H][kQuarter]) {
  int64_t d = 0;
  for (; d + kLanes <= n; d += kLanes) {
    __m512 r[kQuarter];
    for (int j = 0; j < kQuarter; ++j) r[j] = _mm512_loadu_ps(rows[j] + offset + d);
    for (int h = 0; h < H; ++h) {
      const __m512 qv = _mm512_loadu_ps(q[h] + d);
      for (int j = 0; j < kQuarter; ++j) acc[h][j] = _mm512_fmadd_ps(qv, r[j], acc[h][j]);
    }
  }
  if (d < n) {
    const __mmask16 m = FirstLanes(n - d);
    __m512 r[kQuarter];
    for (int j = 0; j < kQuarter; ++j) r[j] = _mm512_maskz_loadu_ps(m, rows[j] + offset + d);
    for (int h = 0; h < H; ++h) {
      const __m512 qv = _mm512_maskz_loadu_ps(m, q[h] + d);
      for (int j = 0; j < kQuarter; ++j) acc[h][j] = _mm512_fmadd_ps(qv, r[j], acc[h][j]);
    }
  }
}

// o[h][d..d + C * 16) = o[h] * alpha[h] + sum_j p[h][j] * rows[j][d..d + C * 16), the last vector masked by `tail`:
// the H x C output vectors stay in registers while the tile's 16 rows stream past, so each row vector is loaded once
// per head block and each p[h][j] broadcast once per C vectors (not the outputs stored and reloaded per row).
template <int H, int C>
inline void AccumulateColumns(float* const* o, const float* alpha, const float (*p)[kTile], const float* const* rows,
                              int64_t d, __mmask16 tail) {
  auto mask = [&](int c) { return c == C - 1 ? tail : static_cast<__mmask16>(0xFFFF); };
  __m512 acc[H][C];
  for (int h = 0; h < H; ++h)
    for (int c = 0; c < C; ++c)
      acc[h][c] = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask(c), o[h] + d + c * kLanes), _mm512_set1_ps(alpha[h]));
  for (int j = 0; j < kTile; ++j) {
    __m512 r[C];
    for (int c = 0; c < C; ++c) r[c] = _mm512_maskz_loadu_ps(mask(c), rows[j] + d + c * kLanes);
    for (int h = 0; h < H; ++h) {
      const __m512 pj = _mm512_set1_ps(p[h][j]);
      for (int c = 0; c < C; ++c) acc[h][c] = _mm512_fmadd_ps(pj, r[c], acc[h][c]);
    }
  }
  for (int h = 0; h < H; ++h)
    for (int c = 0; c < C; ++c) _mm512_mask_storeu_ps(o[h] + d + c * kLanes, mask(c), acc[h][c]);
}

// o[h][0..rank) = o[h] * alpha[h] + sum_j p[h][j] * rows[j][0..rank): three vectors (48 columns) at a time, then
// one (H x 3 accumulators, 3 row vectors and a broadcast fit the registers; with 4 GCC spills and reloads them).
template <int H>
inline void AccumulateBlock(float* const* o, const float* alpha, const float (*p)[kTile], const float* const* rows,
                            int64_t rank) {
  constexpr int kWide = 3;
  constexpr __mmask16 kAll = 0xFFFF;
  int64_t d = 0;
  for (; d + kWide * kLanes <= rank; d += kWide * kLanes) AccumulateColumns<H, kWide>(o, alpha, p, rows, d, kAll);
  for (; d < rank; d += kLanes)
    AccumulateColumns<H, 1>(o, alpha, p, rows, d, rank - d >= kLanes ? kAll : FirstLanes(rank - d));
}

template <int H>
void AttendBlock(const float* const* rows, const __m256 (&valid)[2], const float* q_latent, const float* q_rope,
                 int64_t rank, int64_t rope, float scale, SparseMlaHeadState* state, float* o) {
  const float* ql[H];
  const float* qr[H];
  float* oh[H];
  for (int h = 0; h < H; ++h) {
    ql[h] = q_latent + h * rank;
    qr[h] = q_rope + h * rope;
    oh[h] = o + h * rank;
  }
  __m256 folded[H][kTile];
  for (int j0 = 0; j0 < kTile; j0 += kQuarter) {
    __m512 acc[H][kQuarter];
    for (int h = 0; h < H; ++h)
      for (int j = 0; j < kQuarter; ++j) acc[h][j] = _mm512_setzero_ps();
    DotBlock<H>(ql, rank, rows + j0, 0, acc);
    DotBlock<H>(qr, rope, rows + j0, rank, acc);
    for (int h = 0; h < H; ++h)
      for (int j = 0; j < kQuarter; ++j) folded[h][j0 + j] = Fold(acc[h][j]);
  }
  alignas(32) float p[H][kTile];
  float alpha[H];
  for (int h = 0; h < H; ++h) {
    const __m256 scores[2] = {ScaledScores(simd::ReduceEight(folded[h]), scale, valid[0]),
                              ScaledScores(simd::ReduceEight(folded[h] + 8), scale, valid[1])};
    alpha[h] = SoftmaxStep<kTile>(scores, state[h], p[h]);
  }
  AccumulateBlock<H>(oh, alpha, p, rows, rank);
}

void AttendTile(const float* const* rows, int valid, int64_t heads, const float* q_latent, const float* q_rope,
                int64_t rank, int64_t rope, float scale, SparseMlaHeadState* state, float* o) {
  const __m256 mask[2] = {ValidLanes(valid, 0), ValidLanes(valid, 1)};
  int64_t h = 0;
  for (; h + kHeadBlock <= heads; h += kHeadBlock)
    AttendBlock<kHeadBlock>(rows, mask, q_latent + h * rank, q_rope + h * rope, rank, rope, scale, state + h,
                            o + h * rank);
  const float* ql = q_latent + h * rank;
  const float* qr = q_rope + h * rope;
  switch (heads - h) {
    case 3: AttendBlock<3>(rows, mask, ql, qr, rank, rope, scale, state + h, o + h * rank); break;
    case 2: AttendBlock<2>(rows, mask, ql, qr, rank, rope, scale, state + h, o + h * rank); break;
    case 1: AttendBlock<1>(rows, mask, ql, qr, rank, rope, scale, state + h, o + h * rank); break;
    default: break;
  }
}

#else

constexpr int kTile = 8;  // cache rows per tile: one 8-lane score vector

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

void AttendTile(const float* const* rows, int valid, int64_t heads, const float* q_latent, const float* q_rope,
                int64_t rank, int64_t rope, float scale, SparseMlaHeadState* state, float* o) {
  const __m256 mask = ValidLanes(valid);
  for (int64_t h = 0; h < heads; ++h) {
    alignas(32) float p[kTile];
    const __m256 scores[1] = {ScaledScores(TileScores(q_latent + h * rank, q_rope + h * rope, rows, rank, rope), scale, mask)};
    const float alpha = SoftmaxStep<kTile>(scores, state[h], p);
    AccumulateTile(o + h * rank, alpha, p, rows, rank);
  }
}

#endif

}  // namespace

#if defined(GLM_OPS_ISA_AVX512)
const SparseMlaKernels& SparseMlaKernelsAvx512() {
  static const SparseMlaKernels table{"avx512", kTile, &AttendTile};
  return table;
}
#else
const SparseMlaKernels& SparseMlaKernelsAvx2() {
  static const SparseMlaKernels table{"avx2", kTile, &AttendTile};
  return table;
}
#endif

}  // namespace glm_ops::cpu
