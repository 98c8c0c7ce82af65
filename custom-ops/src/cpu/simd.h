// AVX2/FMA helpers for the kernels' .cc files only (the kernels library is built with -march=x86-64-v3). Public
// kernel headers never include this, so tests and wrappers compile without AVX2 flags.
// The helpers live in an inline namespace named for the ISA the including file is compiled for (cpu/isa_tag.h): the
// per-ISA kernel files (src/cpu/isa/) compile these same inline functions with AVX-512 enabled, and distinct
// symbol names keep the linker from picking an AVX-512 copy for an AVX2 caller.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "cpu/isa_tag.h"

namespace glm_ops::cpu {
inline namespace GLM_OPS_ISA_TAG {
namespace simd {

inline float HorizontalSum(__m256 v) {
  __m128 low = _mm256_castps256_ps128(v);
  __m128 high = _mm256_extractf128_ps(v, 1);
  low = _mm_add_ps(low, high);
  low = _mm_add_ps(low, _mm_movehl_ps(low, low));
  low = _mm_add_ss(low, _mm_movehdup_ps(low));
  return _mm_cvtss_f32(low);
}

inline float HorizontalMax(__m256 v) {
  __m128 low = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  low = _mm_max_ps(low, _mm_movehl_ps(low, low));
  low = _mm_max_ss(low, _mm_movehdup_ps(low));
  return _mm_cvtss_f32(low);
}

// a . b over n floats (any n).
inline float Dot(const float* a, const float* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  float sum = HorizontalSum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// y[0..n) = y * scale + alpha * x (alpha, scale scalars).
inline void ScaleAddScaled(float* y, float scale, const float* x, float alpha, int64_t n) {
  const __m256 vs = _mm256_set1_ps(scale), va = _mm256_set1_ps(alpha);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_mul_ps(vs, _mm256_loadu_ps(y + i))));
  for (; i < n; ++i) y[i] = y[i] * scale + alpha * x[i];
}

// Fast exp for float32 vectors (Cody-Waite range reduction + degree-6 polynomial, ~1 ulp on [-87, 88]); inputs
// below -87 give 0, which is what a softmax wants for masked or far-below-max scores.
inline __m256 Exp(__m256 x) {
  const __m256 max_x = _mm256_set1_ps(88.3762626647949f);
  const __m256 min_x = _mm256_set1_ps(-87.3365478515625f);
  const __m256 below = _mm256_cmp_ps(x, min_x, _CMP_LT_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, min_x), max_x);
  const __m256 log2e = _mm256_set1_ps(1.44269504088896341f);
  __m256 n = _mm256_round_ps(_mm256_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // x - n * ln2, with ln2 split in two for accuracy.
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i exponent = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  const __m256 result = _mm256_mul_ps(p, _mm256_castsi256_ps(exponent));
  return _mm256_andnot_ps(below, result);
}

}  // namespace simd
}  // namespace GLM_OPS_ISA_TAG
}  // namespace glm_ops::cpu

namespace glm_ops::cpu {
inline namespace GLM_OPS_ISA_TAG {
namespace simd {

// Horizontal sums of eight vectors at once: lane i of the result is the sum of v[i]'s lanes.
inline __m256 ReduceEight(const __m256 v[8]) {
  const __m256 t0 = _mm256_hadd_ps(v[0], v[1]);
  const __m256 t1 = _mm256_hadd_ps(v[2], v[3]);
  const __m256 t2 = _mm256_hadd_ps(v[4], v[5]);
  const __m256 t3 = _mm256_hadd_ps(v[6], v[7]);
  const __m256 u0 = _mm256_hadd_ps(t0, t1);
  const __m256 u1 = _mm256_hadd_ps(t2, t3);
  return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

// 8 x 8 transpose of 32-bit lanes: out[i] lane j = in[j] lane i.
inline void Transpose8x8(const __m256 in[8], __m256 out[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(in[0], in[1]), t1 = _mm256_unpackhi_ps(in[0], in[1]);
  const __m256 t2 = _mm256_unpacklo_ps(in[2], in[3]), t3 = _mm256_unpackhi_ps(in[2], in[3]);
  const __m256 t4 = _mm256_unpacklo_ps(in[4], in[5]), t5 = _mm256_unpackhi_ps(in[4], in[5]);
  const __m256 t6 = _mm256_unpacklo_ps(in[6], in[7]), t7 = _mm256_unpackhi_ps(in[6], in[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  out[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  out[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  out[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  out[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  out[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  out[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  out[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  out[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

}  // namespace simd
}  // namespace GLM_OPS_ISA_TAG
}  // namespace glm_ops::cpu

#if defined(GLM_OPS_ISA_AVX512)
namespace glm_ops::cpu {
inline namespace GLM_OPS_ISA_TAG {
namespace simd {

// 32 float32 columns x[0..32) as two bf16 terms (AVX512_BF16), the split every bf16 dot kernel multiplies against:
// hi = bf16(x), lane i holding columns 2i (low half) and 2i + 1 (high half), and lo = bf16(x - hi) in the same
// order, so hi + lo is within ~2^-16 of x. Written once: the vdpbf16ps and AMX paths must split alike.
inline void SplitBf16x32(const float* x, __m512i& hi, __m512i& lo) {
  const __m512 a = _mm512_loadu_ps(x), b = _mm512_loadu_ps(x + 16);
  const __m512bh packed = _mm512_cvtne2ps_pbh(b, a);
  hi = reinterpret_cast<const __m512i&>(packed);
  // hi's bf16 pairs back to float32 in column order.
  const __m512 even = _mm512_castsi512_ps(_mm512_slli_epi32(hi, 16));
  const __m512 odd = _mm512_castsi512_ps(_mm512_and_si512(hi, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u))));
  const __m512i low_index = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i high_index = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const __m512 hi_a = _mm512_permutex2var_ps(even, low_index, odd);
  const __m512 hi_b = _mm512_permutex2var_ps(even, high_index, odd);
  const __m512bh rest = _mm512_cvtne2ps_pbh(_mm512_sub_ps(b, hi_b), _mm512_sub_ps(a, hi_a));
  lo = reinterpret_cast<const __m512i&>(rest);
}

}  // namespace simd
}  // namespace GLM_OPS_ISA_TAG
}  // namespace glm_ops::cpu
#endif
