// LightningIndexer's key-scoring kernel (cpu/lightning_indexer_kernels.h), compiled once per instruction set
// (custom-ops/CMakeLists.txt globs src/cpu/isa/). Both copies keep the heads along the vector lanes: per dimension d,
// a few query vectors (heads) meet a few broadcast key elements in a block of FMA accumulators, so a key is read
// once per block of heads and no horizontal reduction is needed until each key's weighted sum over heads.
// AVX2: 8-lane vectors, blocks of 4 head vectors x 3 keys (12 accumulators). AVX-512: 16-lane vectors, blocks of
// 2 head vectors x 8 keys (16 accumulators; the key broadcasts fold into the FMAs' memory operands).
// GCC 12's 512-bit max and extract intrinsics pass _mm512_undefined_*() as the unused merge source, which its
// -W(maybe-)uninitialized reports once inlined (a false positive: the mask selects every lane of the result).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include "cpu/lightning_indexer_kernels.h"
#include "cpu/simd.h"

namespace glm_ops::cpu {

namespace {

// Fetches the rows of keys [from, to) (dim floats each) into L1: the kernels read a key one float per step, too
// slowly for the hardware prefetcher to run ahead of them.
inline void PrefetchKeys(const float* const* keys, int64_t from, int64_t to, int64_t dim) {
  const int64_t bytes = dim * static_cast<int64_t>(sizeof(float));
  for (int64_t a = from; a < to; ++a) {
    const char* row = reinterpret_cast<const char*>(keys[a]);
    for (int64_t b = 0; b < bytes; b += 64) _mm_prefetch(row + b, _MM_HINT_T0);
  }
}

#if defined(GLM_OPS_ISA_AVX512)

constexpr int kLanes = 16;
constexpr int kKeyBlock = 8;   // keys per accumulator block
constexpr int kHeadBlock = 2;  // head vectors per accumulator block

// HV vectors of 16 heads against NK keys, adding w_h * ReLU(scale * q_h . k_j) into total[j]'s lanes.
template <int HV, int NK>
inline void ScoreHeadChunk(const float* qt, int64_t padded, int64_t dim, const float* w, __m512 scale,
                           const float* const* keys, __m512* total) {
  __m512 acc[HV][NK];
  for (int v = 0; v < HV; ++v)
    for (int j = 0; j < NK; ++j) acc[v][j] = _mm512_setzero_ps();
  for (int64_t d = 0; d < dim; ++d) {
    const float* qd = qt + d * padded;
    __m512 q[HV];
    for (int v = 0; v < HV; ++v) q[v] = _mm512_loadu_ps(qd + kLanes * v);
    for (int j = 0; j < NK; ++j) {
      const __m512 k = _mm512_set1_ps(keys[j][d]);
      for (int v = 0; v < HV; ++v) acc[v][j] = _mm512_fmadd_ps(q[v], k, acc[v][j]);
    }
  }
  const __m512 zero = _mm512_setzero_ps();
  for (int v = 0; v < HV; ++v) {
    const __m512 wv = _mm512_loadu_ps(w + kLanes * v);
    for (int j = 0; j < NK; ++j)
      total[j] = _mm512_fmadd_ps(_mm512_max_ps(_mm512_mul_ps(acc[v][j], scale), zero), wv, total[j]);
  }
}

template <int NK>
inline void ScoreBlock(const float* qt, const float* w, int64_t padded, int64_t dim, float scale,
                       const float* const* keys, float* scores) {
  __m512 total[NK];
  for (int j = 0; j < NK; ++j) total[j] = _mm512_setzero_ps();
  const __m512 vscale = _mm512_set1_ps(scale);
  const int64_t vectors = padded / kLanes;
  int64_t v = 0;
  for (; v + kHeadBlock <= vectors; v += kHeadBlock)
    ScoreHeadChunk<kHeadBlock, NK>(qt + kLanes * v, padded, dim, w + kLanes * v, vscale, keys, total);
  if (v < vectors) ScoreHeadChunk<1, NK>(qt + kLanes * v, padded, dim, w + kLanes * v, vscale, keys, total);
  for (int j = 0; j < NK; ++j) scores[j] = _mm512_reduce_add_ps(total[j]);
}

void ScoreKeys(const float* qt, const float* w, int64_t padded, int64_t dim, float scale, const float* const* keys,
               int64_t count, float* scores) {
  int64_t t = 0;
  for (; t + kKeyBlock <= count; t += kKeyBlock) {
    PrefetchKeys(keys, t + kKeyBlock, count < t + 2 * kKeyBlock ? count : t + 2 * kKeyBlock, dim);
    ScoreBlock<kKeyBlock>(qt, w, padded, dim, scale, keys + t, scores + t);
  }
  // 1-7 keys left: blocks of 4, 2, 1 (each key's arithmetic is the same in every block size).
  if (count - t >= 4) {
    ScoreBlock<4>(qt, w, padded, dim, scale, keys + t, scores + t);
    t += 4;
  }
  if (count - t >= 2) {
    ScoreBlock<2>(qt, w, padded, dim, scale, keys + t, scores + t);
    t += 2;
  }
  if (count - t == 1) ScoreBlock<1>(qt, w, padded, dim, scale, keys + t, scores + t);
}

#else

constexpr int kLanes = 8;
constexpr int kKeyBlock = 3;   // keys per accumulator block (measured best of 3 / 6 / 12 keys prefetched ahead)
constexpr int kHeadBlock = 4;  // head vectors per accumulator block

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
      const __m256 q = _mm256_loadu_ps(qd + kLanes * v);
      for (int j = 0; j < NK; ++j) acc[v][j] = _mm256_fmadd_ps(q, k[j], acc[v][j]);
    }
  }
  const __m256 zero = _mm256_setzero_ps();
  for (int v = 0; v < HV; ++v) {
    const __m256 wv = _mm256_loadu_ps(w + kLanes * v);
    for (int j = 0; j < NK; ++j)
      total[j] = _mm256_fmadd_ps(_mm256_max_ps(_mm256_mul_ps(acc[v][j], scale), zero), wv, total[j]);
  }
}

// Scores of NK keys: head vectors four at a time, then the 1-3 left over.
template <int NK>
inline void ScoreBlock(const float* qt, const float* w, int64_t padded, int64_t dim, float scale,
                       const float* const* keys, float* scores) {
  __m256 total[NK];
  for (int j = 0; j < NK; ++j) total[j] = _mm256_setzero_ps();
  const __m256 vscale = _mm256_set1_ps(scale);
  const int64_t vectors = padded / kLanes;
  int64_t v = 0;
  for (; v + kHeadBlock <= vectors; v += kHeadBlock)
    ScoreHeadChunk<kHeadBlock, NK>(qt + kLanes * v, padded, dim, w + kLanes * v, vscale, keys, total);
  const float* q = qt + kLanes * v;
  const float* wv = w + kLanes * v;
  switch (vectors - v) {
    case 3: ScoreHeadChunk<3, NK>(q, padded, dim, wv, vscale, keys, total); break;
    case 2: ScoreHeadChunk<2, NK>(q, padded, dim, wv, vscale, keys, total); break;
    case 1: ScoreHeadChunk<1, NK>(q, padded, dim, wv, vscale, keys, total); break;
    default: break;
  }
  for (int j = 0; j < NK; ++j) scores[j] = simd::HorizontalSum(total[j]);
}

void ScoreKeys(const float* qt, const float* w, int64_t padded, int64_t dim, float scale, const float* const* keys,
               int64_t count, float* scores) {
  int64_t t = 0;
  for (; t + kKeyBlock <= count; t += kKeyBlock) {
    PrefetchKeys(keys, t + kKeyBlock, count < t + 2 * kKeyBlock ? count : t + 2 * kKeyBlock, dim);
    ScoreBlock<kKeyBlock>(qt, w, padded, dim, scale, keys + t, scores + t);
  }
  if (count - t == 2) ScoreBlock<2>(qt, w, padded, dim, scale, keys + t, scores + t);
  if (count - t == 1) ScoreBlock<1>(qt, w, padded, dim, scale, keys + t, scores + t);
}

#endif

}  // namespace

#if defined(GLM_OPS_ISA_AVX512)
const LightningIndexerKernels& LightningIndexerKernelsAvx512() {
  static const LightningIndexerKernels table{"avx512", kLanes, &ScoreKeys};
  return table;
}
#else
const LightningIndexerKernels& LightningIndexerKernelsAvx2() {
  static const LightningIndexerKernels table{"avx2", kLanes, &ScoreKeys};
  return table;
}
#endif

}  // namespace glm_ops::cpu
