// DenseProjection's GEMM micro-kernels (cpu/dense_gemm_kernels.h), compiled once per instruction set
// (custom-ops/cmake/kernels.cmake globs src/cpu/isa/). The row tiles: one instantiation per tile shape (rows x vectors
// up to the largest), so every loop over the tile is unrolled and its sums stay in registers. The panels: the
// accumulators are named locals, which GCC keeps in registers for the whole loop: written as an array it stored every
// accumulator on each step (measured, AVX2, one thread, 512 x 1024 x 1024 bf16: 34 -> 79 GFLOP per CPU-second, FMA
// peak 107).
#include <immintrin.h>

// GCC 12's 512-bit intrinsics pass _mm512_undefined_*() as unused merge sources, which -Wmaybe-uninitialized reports
// under -Werror (as in dense_projection_int_kernels.cc).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "cpu/dense_gemm_kernels.h"
#include "cpu/weight_decode.h"

namespace glm_ops::cpu {

namespace {

#if defined(GLM_OPS_ISA_AVX512)
using Vec = __m512;
constexpr int kLanes = 16, kRows = 12;
inline Vec Load(const float* p) { return _mm512_loadu_ps(p); }
inline void Store(float* p, Vec v) { _mm512_storeu_ps(p, v); }
inline Vec Broadcast(const float* p) { return _mm512_set1_ps(*p); }
inline Vec Fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
inline Vec DecodeBf16Vec(const uint16_t* p) {
  const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}
#else
using Vec = __m256;
constexpr int kLanes = 8, kRows = 6;
inline Vec Load(const float* p) { return _mm256_loadu_ps(p); }
inline void Store(float* p, Vec v) { _mm256_storeu_ps(p, v); }
inline Vec Broadcast(const float* p) { return _mm256_broadcast_ss(p); }
inline Vec Fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
inline Vec DecodeBf16Vec(const uint16_t* p) { return DecodeBf16x8(p); }
#endif
constexpr int kVectors = 2;

// One column of a tile: the tokens' activations of column c (xt + c * ld_column) against each row's weight at
// position wc of its decoded row (c itself, or its place in pair order).
template <int R, int V>
inline __attribute__((always_inline)) void TileColumn(Vec (&a)[R][V], const float* w, int64_t ldw, const float* xt,
                                                      int64_t ld_column, int64_t c, int64_t wc) {
  Vec x[V];
#pragma GCC unroll 2
  for (int v = 0; v < V; ++v) x[v] = Load(xt + c * ld_column + v * kLanes);
#pragma GCC unroll 16
  for (int j = 0; j < R; ++j) {
    const Vec wj = Broadcast(w + j * ldw + wc);
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v) a[j][v] = Fma(wj, x[v], a[j][v]);
  }
}

template <int R, int V, bool kPairs>
void Tile(const float* w, int64_t ldw, const float* xt, int64_t ld_column, int64_t count, float* acc, int64_t ld_acc,
          const char* const* prefetch, int64_t prefetches) {
  Vec a[R][V];
#pragma GCC unroll 16
  for (int j = 0; j < R; ++j)
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v) a[j][v] = Load(acc + j * ld_acc + v * kLanes);
  int64_t asked = 0;  // the requests spread evenly over the columns
  auto ask = [&](int64_t c) {
    if (asked < prefetches && asked * count <= c * prefetches) _mm_prefetch(prefetch[asked++], _MM_HINT_T0);
  };
  int64_t c = 0;
  if constexpr (kPairs) {  // whole blocks of 32 columns: column 2i's weight at i, column 2i + 1's at 16 + i
    for (; c + 32 <= count; c += 32)
      for (int64_t i = 0; i < 16; ++i) {
        ask(c + 2 * i);
        TileColumn<R, V>(a, w, ldw, xt, ld_column, c + 2 * i, c + i);
        TileColumn<R, V>(a, w, ldw, xt, ld_column, c + 2 * i + 1, c + 16 + i);
      }
  }
  for (; c < count; ++c) {
    ask(c);
    TileColumn<R, V>(a, w, ldw, xt, ld_column, c, c);
  }
#pragma GCC unroll 16
  for (int j = 0; j < R; ++j)
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v) Store(acc + j * ld_acc + v * kLanes, a[j][v]);
}

using TileFn = void (*)(const float*, int64_t, const float*, int64_t, int64_t, float*, int64_t, const char* const*,
                       int64_t);

// fns[pairs][R - 1][V - 1] = Tile<R, V, pairs>.
template <int... Rs>
struct TileTable {
  static constexpr TileFn fns[2][sizeof...(Rs)][kVectors] = {{{&Tile<Rs, 1, false>, &Tile<Rs, 2, false>}...},
                                                             {{&Tile<Rs, 1, true>, &Tile<Rs, 2, true>}...}};
};
#if defined(GLM_OPS_ISA_AVX512)
using Tiles = TileTable<1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12>;
#else
using Tiles = TileTable<1, 2, 3, 4, 5, 6>;
#endif
static_assert(sizeof(Tiles::fns[0]) / sizeof(Tiles::fns[0][0]) == kRows, "one table row per tile height");

void AnyTile(const float* w, int64_t ldw, bool pairs, int64_t rows, const float* xt, int64_t ld_column,
             int64_t vectors, int64_t count, float* acc, int64_t ld_acc, const char* const* prefetch,
             int64_t prefetches) {
  Tiles::fns[pairs][rows - 1][vectors - 1](w, ldw, xt, ld_column, count, acc, ld_acc, prefetch, prefetches);
}

constexpr int64_t kPanelRows = kDenseGemmPanelRows;
static_assert(kPanelRows == 16, "Panel is written out for 16-row panels (one zmm, or two ymm, per column)");

#if defined(GLM_OPS_ISA_AVX512)
constexpr int64_t kPanelTokens = 12;

// 12 tokens x 16 rows: per column one 16-row weight vector, 12 broadcast activations, 12 FMAs.
void Panel(const float* packed, int64_t count, const float* x, float* acc) {
  __m512 c0 = _mm512_loadu_ps(acc + 0 * kPanelRows), c1 = _mm512_loadu_ps(acc + 1 * kPanelRows);
  __m512 c2 = _mm512_loadu_ps(acc + 2 * kPanelRows), c3 = _mm512_loadu_ps(acc + 3 * kPanelRows);
  __m512 c4 = _mm512_loadu_ps(acc + 4 * kPanelRows), c5 = _mm512_loadu_ps(acc + 5 * kPanelRows);
  __m512 c6 = _mm512_loadu_ps(acc + 6 * kPanelRows), c7 = _mm512_loadu_ps(acc + 7 * kPanelRows);
  __m512 c8 = _mm512_loadu_ps(acc + 8 * kPanelRows), c9 = _mm512_loadu_ps(acc + 9 * kPanelRows);
  __m512 c10 = _mm512_loadu_ps(acc + 10 * kPanelRows), c11 = _mm512_loadu_ps(acc + 11 * kPanelRows);
  for (int64_t k = 0; k < count; ++k) {
    const __m512 w = _mm512_loadu_ps(packed + k * kPanelRows);
    const float* xk = x + k * kPanelTokens;
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
  _mm512_storeu_ps(acc + 0 * kPanelRows, c0);
  _mm512_storeu_ps(acc + 1 * kPanelRows, c1);
  _mm512_storeu_ps(acc + 2 * kPanelRows, c2);
  _mm512_storeu_ps(acc + 3 * kPanelRows, c3);
  _mm512_storeu_ps(acc + 4 * kPanelRows, c4);
  _mm512_storeu_ps(acc + 5 * kPanelRows, c5);
  _mm512_storeu_ps(acc + 6 * kPanelRows, c6);
  _mm512_storeu_ps(acc + 7 * kPanelRows, c7);
  _mm512_storeu_ps(acc + 8 * kPanelRows, c8);
  _mm512_storeu_ps(acc + 9 * kPanelRows, c9);
  _mm512_storeu_ps(acc + 10 * kPanelRows, c10);
  _mm512_storeu_ps(acc + 11 * kPanelRows, c11);
}
#else
constexpr int64_t kPanelTokens = 6;

// 6 tokens x 16 rows: per column two 8-row weight vectors, 6 broadcast activations, 12 FMAs.
void Panel(const float* packed, int64_t count, const float* x, float* acc) {
  __m256 c00 = _mm256_loadu_ps(acc + 0), c01 = _mm256_loadu_ps(acc + 8);
  __m256 c10 = _mm256_loadu_ps(acc + 16), c11 = _mm256_loadu_ps(acc + 24);
  __m256 c20 = _mm256_loadu_ps(acc + 32), c21 = _mm256_loadu_ps(acc + 40);
  __m256 c30 = _mm256_loadu_ps(acc + 48), c31 = _mm256_loadu_ps(acc + 56);
  __m256 c40 = _mm256_loadu_ps(acc + 64), c41 = _mm256_loadu_ps(acc + 72);
  __m256 c50 = _mm256_loadu_ps(acc + 80), c51 = _mm256_loadu_ps(acc + 88);
  for (int64_t k = 0; k < count; ++k) {
    const __m256 w0 = _mm256_loadu_ps(packed + k * kPanelRows), w1 = _mm256_loadu_ps(packed + k * kPanelRows + 8);
    const float* xk = x + k * kPanelTokens;
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


void DecodeBf16Row(const uint16_t* w, int64_t count, float* dst) {
  int64_t c = 0;
  for (; c + kLanes <= count; c += kLanes) Store(dst + c, DecodeBf16Vec(w + c));
  for (; c < count; ++c) dst[c] = DecodeBf16(w[c]);
}

// Pair order: a 32-bit lane holds columns 2k (low half) and 2k + 1 (high half), so a shift gives the even column and
// a mask the odd one: per 32 weights one 64-byte load (AVX2: two 32-byte ones) and two ALU operations, where the
// in-order decode widens 16 at a time (a shuffle and a shift each).
void DecodeBf16Pairs(const uint16_t* w, int64_t count, float* dst) {
  int64_t c = 0;
#if defined(GLM_OPS_ISA_AVX512)
  const __m512i high = _mm512_set1_epi32(static_cast<int>(0xFFFF0000u));
  for (; c + 32 <= count; c += 32) {
    const __m512i v = _mm512_loadu_si512(w + c);
    _mm512_storeu_si512(dst + c, _mm512_slli_epi32(v, 16));
    _mm512_storeu_si512(dst + c + 16, _mm512_and_si512(v, high));
  }
#else
  const __m256i high = _mm256_set1_epi32(static_cast<int>(0xFFFF0000u));
  for (; c + 32 <= count; c += 32) {
    const __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + c));
    const __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + c + 16));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + c), _mm256_slli_epi32(v0, 16));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + c + 8), _mm256_slli_epi32(v1, 16));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + c + 16), _mm256_and_si256(v0, high));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + c + 24), _mm256_and_si256(v1, high));
  }
#endif
  DecodeBf16Row(w + c, count - c, dst + c);  // past the last whole block: in order
}

}  // namespace

#if defined(GLM_OPS_ISA_AVX512)
const DenseGemmKernels& DenseGemmKernelsAvx512() {
  static const DenseGemmKernels table{"avx512", kLanes, kRows, kVectors, &AnyTile, kPanelTokens,
                                      &Panel, &DecodeBf16Row, &DecodeBf16Pairs};
  return table;
}
#else
const DenseGemmKernels& DenseGemmKernelsAvx2() {
  static const DenseGemmKernels table{"avx2",       kLanes, kRows,          kVectors,        &AnyTile,
                                      kPanelTokens, &Panel, &DecodeBf16Row, &DecodeBf16Pairs};
  return table;
}
#endif

}  // namespace glm_ops::cpu
