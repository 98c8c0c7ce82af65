// DenseProjection's GEMM micro-kernel (cpu/dense_gemm_kernels.h), compiled once per instruction set
// (custom-ops/cmake/kernels.cmake globs src/cpu/isa/). The accumulators are named locals, which GCC keeps in
// registers for the whole loop: written as an array it stored every accumulator on each step (measured, AVX2, one
// thread, 512 x 1024 x 1024 bf16: 34 -> 79 GFLOP per CPU-second, FMA peak 107).
#include <immintrin.h>

#include "cpu/dense_gemm_kernels.h"

namespace glm_ops::cpu {

namespace {

constexpr int64_t kRows = kDenseGemmPanelRows;
static_assert(kRows == 16, "Panel is written out for 16-row panels (one zmm, or two ymm, per column)");

#if defined(GLM_OPS_ISA_AVX512)
constexpr int64_t kTokens = 12;

// 12 tokens x 16 rows: per column one 16-row weight vector, 12 broadcast activations, 12 FMAs.
void Panel(const float* packed, int64_t count, const float* x, float* acc) {
  __m512 c0 = _mm512_loadu_ps(acc + 0 * kRows), c1 = _mm512_loadu_ps(acc + 1 * kRows);
  __m512 c2 = _mm512_loadu_ps(acc + 2 * kRows), c3 = _mm512_loadu_ps(acc + 3 * kRows);
  __m512 c4 = _mm512_loadu_ps(acc + 4 * kRows), c5 = _mm512_loadu_ps(acc + 5 * kRows);
  __m512 c6 = _mm512_loadu_ps(acc + 6 * kRows), c7 = _mm512_loadu_ps(acc + 7 * kRows);
  __m512 c8 = _mm512_loadu_ps(acc + 8 * kRows), c9 = _mm512_loadu_ps(acc + 9 * kRows);
  __m512 c10 = _mm512_loadu_ps(acc + 10 * kRows), c11 = _mm512_loadu_ps(acc + 11 * kRows);
  for (int64_t k = 0; k < count; ++k) {
    const __m512 w = _mm512_loadu_ps(packed + k * kRows);
    const float* xk = x + k * kTokens;
    c0 = _mm512_fmadd_ps(w, _mm512_set1_ps(xk[0]), c0);
    c1 = _mm512_fmadd_ps(w, _mm512_set1_ps(xk[1]), c1);
    c2 = _mm512_fmadd_ps(w, _mm512_set1_ps(xk[2]), c2);
    c3 = _mm512_fmadd_ps(w, _mm512_set1_ps(xk[3]), c3);
    c4 = _mm512_fmadd_ps(w, _mm512_set1_ps(xk[4]), c4);
    c5 = _mm512_fmadd_ps(w, _mm512_set1_ps(xk[5]), c5);
    c6 = _mm512_fmadd_ps(w, _mm512_set1_ps(xk[6]), c6);
    c7 = _mm512_fmadd_ps(w, _mm512_set1_ps(xk[7]), c7);
    c8 = _mm512_fmadd_ps(w, _mm512_set1_ps(xk[8]), c8);
    c9 = _mm512_fmadd_ps(w, _mm512_set1_ps(xk[9]), c9);
    c10 = _mm512_fmadd_ps(w, _mm512_set1_ps(xk[10]), c10);
    c11 = _mm512_fmadd_ps(w, _mm512_set1_ps(xk[11]), c11);
  }
  _mm512_storeu_ps(acc + 0 * kRows, c0);
  _mm512_storeu_ps(acc + 1 * kRows, c1);
  _mm512_storeu_ps(acc + 2 * kRows, c2);
  _mm512_storeu_ps(acc + 3 * kRows, c3);
  _mm512_storeu_ps(acc + 4 * kRows, c4);
  _mm512_storeu_ps(acc + 5 * kRows, c5);
  _mm512_storeu_ps(acc + 6 * kRows, c6);
  _mm512_storeu_ps(acc + 7 * kRows, c7);
  _mm512_storeu_ps(acc + 8 * kRows, c8);
  _mm512_storeu_ps(acc + 9 * kRows, c9);
  _mm512_storeu_ps(acc + 10 * kRows, c10);
  _mm512_storeu_ps(acc + 11 * kRows, c11);
}
#else
constexpr int64_t kTokens = 6;

// 6 tokens x 16 rows: per column two 8-row weight vectors, 6 broadcast activations, 12 FMAs.
void Panel(const float* packed, int64_t count, const float* x, float* acc) {
  __m256 c00 = _mm256_loadu_ps(acc + 0), c01 = _mm256_loadu_ps(acc + 8);
  __m256 c10 = _mm256_loadu_ps(acc + 16), c11 = _mm256_loadu_ps(acc + 24);
  __m256 c20 = _mm256_loadu_ps(acc + 32), c21 = _mm256_loadu_ps(acc + 40);
  __m256 c30 = _mm256_loadu_ps(acc + 48), c31 = _mm256_loadu_ps(acc + 56);
  __m256 c40 = _mm256_loadu_ps(acc + 64), c41 = _mm256_loadu_ps(acc + 72);
  __m256 c50 = _mm256_loadu_ps(acc + 80), c51 = _mm256_loadu_ps(acc + 88);
  for (int64_t k = 0; k < count; ++k) {
    const __m256 w0 = _mm256_loadu_ps(packed + k * kRows), w1 = _mm256_loadu_ps(packed + k * kRows + 8);
    const float* xk = x + k * kTokens;
    __m256 xv = _mm256_broadcast_ss(xk + 0);
    c00 = _mm256_fmadd_ps(w0, xv, c00);
    c01 = _mm256_fmadd_ps(w1, xv, c01);
    xv = _mm256_broadcast_ss(xk + 1);
    c10 = _mm256_fmadd_ps(w0, xv, c10);
    c11 = _mm256_fmadd_ps(w1, xv, c11);
    xv = _mm256_broadcast_ss(xk + 2);
    c20 = _mm256_fmadd_ps(w0, xv, c20);
    c21 = _mm256_fmadd_ps(w1, xv, c21);
    xv = _mm256_broadcast_ss(xk + 3);
    c30 = _mm256_fmadd_ps(w0, xv, c30);
    c31 = _mm256_fmadd_ps(w1, xv, c31);
    xv = _mm256_broadcast_ss(xk + 4);
    c40 = _mm256_fmadd_ps(w0, xv, c40);
    c41 = _mm256_fmadd_ps(w1, xv, c41);
    xv = _mm256_broadcast_ss(xk + 5);
    c50 = _mm256_fmadd_ps(w0, xv, c50);
    c51 = _mm256_fmadd_ps(w1, xv, c51);
  }
  _mm256_storeu_ps(acc + 0, c00);
  _mm256_storeu_ps(acc + 8, c01);
  _mm256_storeu_ps(acc + 16, c10);
  _mm256_storeu_ps(acc + 24, c11);
  _mm256_storeu_ps(acc + 32, c20);
  _mm256_storeu_ps(acc + 40, c21);
  _mm256_storeu_ps(acc + 48, c30);
  _mm256_storeu_ps(acc + 56, c31);
  _mm256_storeu_ps(acc + 64, c40);
  _mm256_storeu_ps(acc + 72, c41);
  _mm256_storeu_ps(acc + 80, c50);
  _mm256_storeu_ps(acc + 88, c51);
}
#endif

}  // namespace

#if defined(GLM_OPS_ISA_AVX512)
const DenseGemmKernels& DenseGemmKernelsAvx512() {
  static const DenseGemmKernels table{"avx512", kTokens, &Panel};
  return table;
}
#else
const DenseGemmKernels& DenseGemmKernelsAvx2() {
  static const DenseGemmKernels table{"avx2", kTokens, &Panel};
  return table;
}
#endif

}  // namespace glm_ops::cpu
