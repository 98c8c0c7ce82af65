#include "cpu/swiglu.h"

#include <immintrin.h>

#include <cmath>

#include "cpu/simd.h"

namespace glm_ops::cpu {

namespace {

// Elements from which a call splits its rows across the pool: below, the section's start and wait (~10 us) would
// cost more than the second thread saves (a decode row of a few thousand elements takes ~1 us).
constexpr int64_t kParallelMinElements = int64_t{1} << 16;

}  // namespace

void SwiGlu(const float* gate, const float* up, int64_t width, float* out) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  int64_t i = 0;
  for (; i + 8 <= width; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 e = simd::Exp(_mm256_xor_ps(g, sign));  // exp(-g): 0 below -87, finite above 88
    const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, e));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  for (; i < width; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void SwiGluRows(const Parallel& parallel, const float* gate_up, int64_t tokens, int64_t width, float* out) {
  auto rows = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t)
      SwiGlu(gate_up + t * 2 * width, gate_up + t * 2 * width + width, width, out + t * width);
  };
  if (tokens * width < kParallelMinElements) {
    rows(0, tokens);
    return;
  }
  parallel.For(tokens, rows);
}

}  // namespace glm_ops::cpu
