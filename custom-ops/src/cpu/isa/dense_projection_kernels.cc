// DenseProjection's decode kernels (cpu/dense_projection_kernels.h), compiled once per instruction set
// (custom-ops/CMakeLists.txt globs src/cpu/isa/): 8-lane AVX2 vectors, or 16-lane AVX-512 ones with
// GLM_OPS_ISA_AVX512. Each compilation exports its table; everything else stays in an anonymous namespace.
// GCC 12's 512-bit shift and extract intrinsics pass _mm512_undefined_*() as the unused merge source, which its
// -Wmaybe-uninitialized reports once inlined (a false positive: the mask selects every lane of the result).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include "cpu/dense_fp8_table.h"
#include "cpu/dense_projection_kernels.h"
#include "cpu/simd.h"
#include "cpu/weight_decode.h"

namespace glm_ops::cpu {

namespace {

#if defined(GLM_OPS_ISA_AVX512)
using Vec = __m512;
constexpr int kLanes = 16;
inline Vec Zero() { return _mm512_setzero_ps(); }
inline Vec Load(const float* p) { return _mm512_loadu_ps(p); }
inline Vec Fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
inline float Sum(Vec v) { return _mm512_reduce_add_ps(v); }
// 2L bf16 weights: the even columns (low halves shifted up) and the odd ones (high halves, low bits cleared).
inline void LoadBf16Pair(const uint16_t* p, Vec& even, Vec& odd) {
  const __m512i bits = _mm512_loadu_si512(p);
  even = _mm512_castsi512_ps(_mm512_slli_epi32(bits, 16));
  odd = _mm512_castsi512_ps(_mm512_and_si512(bits, _mm512_set1_epi32(static_cast<int>(0xFFFF0000u))));
}
inline void Store(float* p, Vec v) { _mm512_storeu_ps(p, v); }
#else
using Vec = __m256;
constexpr int kLanes = 8;
inline Vec Zero() { return _mm256_setzero_ps(); }
inline Vec Load(const float* p) { return _mm256_loadu_ps(p); }
inline Vec Fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
inline float Sum(Vec v) { return simd::HorizontalSum(v); }
inline void LoadBf16Pair(const uint16_t* p, Vec& even, Vec& odd) {
  const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  even = _mm256_castsi256_ps(_mm256_slli_epi32(bits, 16));
  odd = _mm256_castsi256_ps(_mm256_and_si256(bits, _mm256_set1_epi32(static_cast<int>(0xFFFF0000u))));
}
inline void Store(float* p, Vec v) { _mm256_storeu_ps(p, v); }
#endif

constexpr int64_t kBlock = 2 * kLanes;

void PermuteBf16Activations(const float* x, int64_t cols, float* out) {
  const int64_t whole = cols / kBlock * kBlock;
  for (int64_t c0 = 0; c0 < whole; c0 += kBlock) {
    alignas(64) float even[kLanes], odd[kLanes];
    for (int i = 0; i < kLanes; ++i) {
      even[i] = x[c0 + 2 * i];
      odd[i] = x[c0 + 2 * i + 1];
    }
    Store(out + c0, Load(even));
    Store(out + c0 + kLanes, Load(odd));
  }
}

// Rows per step for T tokens: T x R = 8 accumulator chains (two per FMA latency on either ISA), R weight streams.
constexpr int RowsFor(int tokens) { return tokens == 1 ? 8 : tokens == 2 ? 4 : 2; }
static_assert(kDenseGemvRowQuantum % RowsFor(1) == 0 && kDenseGemvMaxTokens == 4, "row steps divide the quantum");

// Rows ahead whose lines each step asks the caches for while it reads its own (one 8-row step at one token, two or
// four steps at more): the hardware prefetchers alone keep too few misses in flight across 2-8 row streams. Measured
// (docs/benchmarks.md, "bf16 decode at the bandwidth floor"): 1.3-1.5x the GB per CPU-second at `small` widths with
// cold weights, ~1.1-1.2x at GLM-5.2 widths.
constexpr int64_t kPrefetchRows = 8;

template <int T>
void GemvBf16(const uint16_t* w, int64_t cols, int64_t r0, int64_t r1, const float* xp, int64_t ldxp, const float* x,
              int64_t ldx, float* y, int64_t ldy) {
  constexpr int R = RowsFor(T);
  const int64_t whole = cols / kBlock * kBlock;
  for (int64_t rq = r0; rq < r1; rq += R) {
    const int rows = static_cast<int>(r1 - rq < R ? r1 - rq : R);
    const uint16_t* rp[R];
    for (int j = 0; j < R; ++j) rp[j] = w + (rq + (j < rows ? j : rows - 1)) * cols;
    Vec acc[T][R];
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < R; ++j) acc[t][j] = Zero();
    // Only rows of this call's range: the rows past r1 are another work item's (or past the matrix).
    const bool prefetch = rq + kPrefetchRows + R <= r1;
    const uint16_t* ahead = w + (rq + kPrefetchRows) * cols;
    for (int64_t c = 0; c < whole; c += kBlock) {
      if (prefetch)
        for (int j = 0; j < R; ++j) _mm_prefetch(reinterpret_cast<const char*>(ahead + j * cols + c), _MM_HINT_T0);
      Vec xe[T], xo[T];
      for (int t = 0; t < T; ++t) {
        xe[t] = Load(xp + t * ldxp + c);
        xo[t] = Load(xp + t * ldxp + c + kLanes);
      }
      for (int j = 0; j < R; ++j) {
        Vec even, odd;
        LoadBf16Pair(rp[j] + c, even, odd);
        for (int t = 0; t < T; ++t) acc[t][j] = Fma(odd, xo[t], Fma(even, xe[t], acc[t][j]));
      }
    }
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < rows; ++j) {
        float tail = 0.0f;  // columns past the last whole block (widths that are not a multiple of 2L)
        for (int64_t c = whole; c < cols; ++c) tail += DecodeBf16(rp[j][c]) * x[t * ldx + c];
        y[t * ldy + (rq - r0) + j] = Sum(acc[t][j]) + tail;
      }
  }
}

void GemvBf16Any(const uint16_t* w, int64_t cols, int64_t r0, int64_t r1, const float* xp, int64_t ldxp,
                 const float* x, int64_t ldx, int64_t n, float* y, int64_t ldy) {
  switch (n) {
    case 1: return GemvBf16<1>(w, cols, r0, r1, xp, ldxp, x, ldx, y, ldy);
    case 2: return GemvBf16<2>(w, cols, r0, r1, xp, ldxp, x, ldx, y, ldy);
    case 3: return GemvBf16<3>(w, cols, r0, r1, xp, ldxp, x, ldx, y, ldy);
    default: return GemvBf16<4>(w, cols, r0, r1, xp, ldxp, x, ldx, y, ldy);
  }
}

// float32 weights: per step R rows (RowsFor(T)), one 64-byte line (16 columns: one AVX-512 vector or two AVX2 ones)
// of each row per iteration, T x R independent accumulator chains, the same lines kPrefetchRows rows ahead asked for
// meanwhile; the columns past the last whole line summed as scalars.
constexpr int64_t kLineFloats = 16;
static_assert(kLineFloats % kLanes == 0, "a line is whole vectors");

template <int T>
void GemvF32(const float* w, int64_t cols, int64_t r0, int64_t r1, const float* x, int64_t ldx, float* y,
             int64_t ldy) {
  constexpr int R = RowsFor(T);
  const int64_t whole = cols / kLineFloats * kLineFloats;
  for (int64_t rq = r0; rq < r1; rq += R) {
    const int rows = static_cast<int>(r1 - rq < R ? r1 - rq : R);
    const float* rp[R];
    for (int j = 0; j < R; ++j) rp[j] = w + (rq + (j < rows ? j : rows - 1)) * cols;
    Vec acc[T][R];
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < R; ++j) acc[t][j] = Zero();
    const bool prefetch = rq + kPrefetchRows + R <= r1;
    const float* ahead = w + (rq + kPrefetchRows) * cols;
    for (int64_t c = 0; c < whole; c += kLineFloats) {
      if (prefetch)
        for (int j = 0; j < R; ++j) _mm_prefetch(reinterpret_cast<const char*>(ahead + j * cols + c), _MM_HINT_T0);
      for (int64_t v = 0; v < kLineFloats; v += kLanes) {
        Vec xv[T];
        for (int t = 0; t < T; ++t) xv[t] = Load(x + t * ldx + c + v);
        for (int j = 0; j < R; ++j) {
          const Vec wv = Load(rp[j] + c + v);
          for (int t = 0; t < T; ++t) acc[t][j] = Fma(wv, xv[t], acc[t][j]);
        }
      }
    }
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < rows; ++j) {
        float tail = 0.0f;
        for (int64_t c = whole; c < cols; ++c) tail += rp[j][c] * x[t * ldx + c];
        y[t * ldy + (rq - r0) + j] = Sum(acc[t][j]) + tail;
      }
  }
}

void GemvF32Any(const float* w, int64_t cols, int64_t r0, int64_t r1, const float* x, int64_t ldx, int64_t n, float* y,
                int64_t ldy) {
  switch (n) {
    case 1: return GemvF32<1>(w, cols, r0, r1, x, ldx, y, ldy);
    case 2: return GemvF32<2>(w, cols, r0, r1, x, ldx, y, ldy);
    case 3: return GemvF32<3>(w, cols, r0, r1, x, ldx, y, ldy);
    default: return GemvF32<4>(w, cols, r0, r1, x, ldx, y, ldy);
  }
}

#if defined(GLM_OPS_ISA_AVX512)
// Block-FP8 (e4m3) weights, 16 at a time decoded exactly to value * 2^-8 through float16 (DecodeE4M3x16Half), the
// 2^8 folded into the block scale: per row and scale block of qb columns, 16-lane partial sums over the block's whole
// vectors, then times the block's scale into the row's total; the block's columns past its last whole vector as
// scalars, scaled likewise. R rows side by side (RowsFor), a scan for NaN codes folded into the stream (a row holding
// one gives NaN, as its dequantised product would).

template <int T>
void GemvFp8(const uint8_t* w, const float* scales, int64_t rows_in_w, int64_t cols, int64_t qb, int64_t r0,
             int64_t r1, const float* const* x, float* y, int64_t ldy) {
  constexpr int R = RowsFor(T);
  const int64_t scale_cols = (cols + qb - 1) / qb;
  for (int64_t rq = r0; rq < r1; rq += R) {
    const int rows = static_cast<int>(r1 - rq < R ? r1 - rq : R);
    const uint8_t* rp[R];
    // Each row's row of scale blocks (a step's rows may straddle a quant block where r0 is not a multiple of R).
    const float* scale_row[R];
    for (int j = 0; j < R; ++j) {
      const int64_t r = rq + (j < rows ? j : rows - 1);
      rp[j] = w + r * cols;
      scale_row[j] = scales + (r / qb) * scale_cols;
    }
    Vec total[T][R];
    float tail_total[T][R];
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < R; ++j) {
        total[t][j] = Zero();
        tail_total[t][j] = 0.0f;
      }
    E4M3NanScan nan_scan;
    // Past r1 too: a caller's next call (MoeExperts' next item) usually reads the rows that follow.
    const bool prefetch = rq + kPrefetchRows + R <= rows_in_w;
    const uint8_t* ahead = w + (rq + kPrefetchRows) * cols;
    for (int64_t b0 = 0, block = 0; b0 < cols; b0 += qb, ++block) {
      const int64_t b1 = b0 + qb < cols ? b0 + qb : cols;
      const int64_t whole = b0 + (b1 - b0) / kLanes * kLanes;
      Vec acc[T][R];
      float tail[T][R];
      for (int t = 0; t < T; ++t)
        for (int j = 0; j < R; ++j) {
          acc[t][j] = Zero();
          tail[t][j] = 0.0f;
        }
      auto step = [&](int64_t c) {
        Vec xv[T];
        for (int t = 0; t < T; ++t) xv[t] = Load(x[t] + c);
        for (int j = 0; j < R; ++j) {
          const Vec wv = DecodeE4M3x16Half(rp[j] + c);
          for (int t = 0; t < T; ++t) acc[t][j] = Fma(wv, xv[t], acc[t][j]);
        }
      };
      int64_t c = b0;
      for (; c + 64 <= whole; c += 64) {  // one 64-byte line of each row: prefetch ahead, scan, four steps
        for (int j = 0; j < R; ++j) {
          if (prefetch) _mm_prefetch(reinterpret_cast<const char*>(ahead + j * cols + c), _MM_HINT_T0);
          nan_scan.Add32(rp[j] + c);
          nan_scan.Add32(rp[j] + c + 32);
        }
        for (int u = 0; u < 64; u += kLanes) step(c + u);
      }
      for (; c < whole; c += kLanes) {
        for (int j = 0; j < R; ++j) {
          nan_scan.Add8(rp[j] + c);
          nan_scan.Add8(rp[j] + c + 8);
        }
        step(c);
      }
      for (c = whole; c < b1; ++c)  // exact scalar decoding (a NaN code decodes to NaN here)
        for (int j = 0; j < R; ++j) {
          const float wf = DecodeE4M3(rp[j][c]);
          for (int t = 0; t < T; ++t) tail[t][j] += wf * x[t][c];
        }
      for (int j = 0; j < R; ++j) {
        const float scale = scale_row[j][block];
        const Vec vscale = _mm512_set1_ps(scale * kE4M3HalfRescale);
        for (int t = 0; t < T; ++t) {
          total[t][j] = Fma(acc[t][j], vscale, total[t][j]);
          tail_total[t][j] += tail[t][j] * scale;
        }
      }
    }
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < rows; ++j) y[t * ldy + (rq - r0) + j] = Sum(total[t][j]) + tail_total[t][j];
    if (nan_scan.Found())
      for (int j = 0; j < rows; ++j)
        if (HasE4M3Nan(rp[j], cols))
          for (int t = 0; t < T; ++t) y[t * ldy + (rq - r0) + j] = __builtin_nanf("");
  }
}

void GemvFp8Any(const uint8_t* w, const float* scales, int64_t rows, int64_t cols, int64_t qb, int64_t r0, int64_t r1,
                const float* const* x, int64_t n, float* y, int64_t ldy) {
  if (Fp8TableApplies(n, qb)) return GemvFp8TableAvx512(w, scales, rows, cols, qb, r0, r1, x, n, y, ldy);
  switch (n) {
    case 1: return GemvFp8<1>(w, scales, rows, cols, qb, r0, r1, x, y, ldy);
    case 2: return GemvFp8<2>(w, scales, rows, cols, qb, r0, r1, x, y, ldy);
    case 3: return GemvFp8<3>(w, scales, rows, cols, qb, r0, r1, x, y, ldy);
    default: return GemvFp8<4>(w, scales, rows, cols, qb, r0, r1, x, y, ldy);
  }
}

#endif

#if defined(GLM_OPS_ISA_AVX512)
// AVX512_BF16. Per block of 32 columns, in column order: hi = bf16(x) (round to nearest even), then lo = bf16(x - hi);
// hi + lo is x within 2^-16 |x| (each rounding keeps 8 significant bits). out: the whole blocks' hi, then their lo.
void SplitBf16Activations(const float* x, int64_t cols, uint16_t* out) {
  const int64_t whole = cols / kBlock * kBlock;
  static_assert(kBlock == 32, "one SplitBf16x32 per block");
  for (int64_t c = 0; c < whole; c += kBlock) {
    __m512i hi, lo;
    simd::SplitBf16x32(x + c, hi, lo);
    _mm512_storeu_si512(out + c, hi);
    _mm512_storeu_si512(out + whole + c, lo);
  }
}

// Rows per step of the dot kernel: 8 accumulator chains at one and two tokens, 12 / 16 at three / four (AVX-512's 32
// registers hold them beside the tokens' 2 x T activation vectors and one weight vector).
constexpr int DotRowsFor(int tokens) { return tokens == 1 ? 8 : 4; }
static_assert(kDenseGemvRowQuantum % DotRowsFor(1) == 0, "row steps divide the quantum");

template <int T>
void GemvBf16Dot(const uint16_t* w, int64_t cols, int64_t r0, int64_t r1, const uint16_t* xb, int64_t ldxb,
                 const float* x, int64_t ldx, float* y, int64_t ldy) {
  constexpr int R = DotRowsFor(T);
  const int64_t whole = cols / kBlock * kBlock;
  for (int64_t rq = r0; rq < r1; rq += R) {
    const int rows = static_cast<int>(r1 - rq < R ? r1 - rq : R);
    const uint16_t* rp[R];
    for (int j = 0; j < R; ++j) rp[j] = w + (rq + (j < rows ? j : rows - 1)) * cols;
    Vec acc[T][R];
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < R; ++j) acc[t][j] = Zero();
    const bool prefetch = rq + kPrefetchRows + R <= r1;
    const uint16_t* ahead = w + (rq + kPrefetchRows) * cols;
    for (int64_t c = 0; c < whole; c += kBlock) {
      if (prefetch)
        for (int j = 0; j < R; ++j) _mm_prefetch(reinterpret_cast<const char*>(ahead + j * cols + c), _MM_HINT_T0);
      __m512bh hi[T], lo[T];
      for (int t = 0; t < T; ++t) {
        hi[t] = reinterpret_cast<__m512bh>(_mm512_loadu_si512(xb + t * ldxb + c));
        lo[t] = reinterpret_cast<__m512bh>(_mm512_loadu_si512(xb + t * ldxb + whole + c));
      }
      for (int j = 0; j < R; ++j) {
        // 32 bf16 weights as they are stored: vdpbf16ps pairs columns 2i and 2i+1 in lane i, as the activations.
        const __m512bh wv = reinterpret_cast<__m512bh>(_mm512_loadu_si512(rp[j] + c));
        for (int t = 0; t < T; ++t) acc[t][j] = _mm512_dpbf16_ps(_mm512_dpbf16_ps(acc[t][j], hi[t], wv), lo[t], wv);
      }
    }
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < rows; ++j) {
        float tail = 0.0f;  // columns past the last whole block: float32 activations, as the float32 kernel
        for (int64_t c = whole; c < cols; ++c) tail += DecodeBf16(rp[j][c]) * x[t * ldx + c];
        y[t * ldy + (rq - r0) + j] = Sum(acc[t][j]) + tail;
      }
  }
}

void GemvBf16DotAny(const uint16_t* w, int64_t cols, int64_t r0, int64_t r1, const uint16_t* xb, int64_t ldxb,
                    const float* x, int64_t ldx, int64_t n, float* y, int64_t ldy) {
  switch (n) {
    case 1: return GemvBf16Dot<1>(w, cols, r0, r1, xb, ldxb, x, ldx, y, ldy);
    case 2: return GemvBf16Dot<2>(w, cols, r0, r1, xb, ldxb, x, ldx, y, ldy);
    case 3: return GemvBf16Dot<3>(w, cols, r0, r1, xb, ldxb, x, ldx, y, ldy);
    default: return GemvBf16Dot<4>(w, cols, r0, r1, xb, ldxb, x, ldx, y, ldy);
  }
}

// The many-token kernel (gemm_bf16_dot). Columns per chunk: a block's chunk of weights, packed (16 rows x 512 x 2
// bytes = 16 KiB), and one 4-token block's split activations of it (4 x 512 x 4 bytes = 8 KiB) stay in L1 together
// while every 4-token block runs over the chunk; the gemv kernel's whole-row passes read both from L2 for every 32
// columns. Packed, because rows of 2048 x k columns lie 4 KiB x k apart: read in place, the same column of 16 rows
// falls in one L1 set (12 ways on Zen 5) and evicts itself (measured, one thread, 6144 -> 2048 x 32 tokens: no
// faster than the gemv kernel unpacked).
constexpr int64_t kGemmCols = 512;
constexpr int64_t kGemmRows = kDenseGemmDotRows;
static_assert(kGemmCols % kBlock == 0 && kGemmRows % 4 == 0, "chunks are whole blocks, blocks whole 4-row steps");
static_assert(kDenseGemmDotScratchPerToken == kGemmRows * kLanes, "one vector of lane sums per row of a block");

// acc[(t * kGemmRows + j) * kLanes ..] += lane sums of packed rows j < 4 (kGemmCols apart) x token t's split
// activations (hi at xb + t * ldxb, lo `whole` further) over `count` columns (whole blocks), for T tokens.
template <int T>
void DotChunk(const uint16_t* packed, int64_t count, const uint16_t* xb, int64_t ldxb, int64_t whole, float* acc) {
  Vec a[T][4];
  for (int t = 0; t < T; ++t)
    for (int j = 0; j < 4; ++j) a[t][j] = Load(acc + (t * kGemmRows + j) * kLanes);
  for (int64_t c = 0; c < count; c += kBlock) {
    __m512bh hi[T], lo[T];
    for (int t = 0; t < T; ++t) {
      hi[t] = reinterpret_cast<__m512bh>(_mm512_loadu_si512(xb + t * ldxb + c));
      lo[t] = reinterpret_cast<__m512bh>(_mm512_loadu_si512(xb + t * ldxb + whole + c));
    }
    for (int j = 0; j < 4; ++j) {
      const __m512bh wv = reinterpret_cast<__m512bh>(_mm512_load_si512(packed + j * kGemmCols + c));
      for (int t = 0; t < T; ++t) a[t][j] = _mm512_dpbf16_ps(_mm512_dpbf16_ps(a[t][j], hi[t], wv), lo[t], wv);
    }
  }
  for (int t = 0; t < T; ++t)
    for (int j = 0; j < 4; ++j) Store(acc + (t * kGemmRows + j) * kLanes, a[t][j]);
}

// Copies rows [rb, rb + rows) x columns [c0, c0 + count) (whole blocks) into packed (row j at j * kGemmCols; rows
// past `rows` repeat the last, their sums land in unused slots) and asks the caches for the next chunk's lines: the
// same rows kGemmCols further, or the next block's first chunk, `next` rows from rb + kGemmRows.
void PackChunk(const uint16_t* w, int64_t cols, int64_t rb, int64_t rows, int64_t c0, int64_t count, int64_t whole,
               int64_t next, uint16_t* packed) {
  for (int64_t j = 0; j < kGemmRows; ++j) {
    const uint16_t* src = w + (rb + (j < rows ? j : rows - 1)) * cols + c0;
    const uint16_t* ahead = nullptr;
    if (c0 + kGemmCols < whole)
      ahead = src + kGemmCols;
    else if (j < next)
      ahead = w + (rb + kGemmRows + j) * cols;
    for (int64_t c = 0; c < count; c += kBlock) {
      if (ahead) _mm_prefetch(reinterpret_cast<const char*>(ahead + c), _MM_HINT_T0);
      _mm512_store_si512(packed + j * kGemmCols + c, _mm512_loadu_si512(src + c));
    }
  }
}

// Rows [r0, r1) for n tokens: blocks of kGemmRows rows; per block, chunk by chunk (packed), every 4-token block over
// every 4-row step, the lane sums kept in `scratch` (n x kGemmRows x 16 floats) across chunks and reduced once per
// block.
void GemmBf16Dot(const uint16_t* w, int64_t cols, int64_t r0, int64_t r1, const uint16_t* xb, int64_t ldxb,
                 const float* x, int64_t ldx, int64_t n, float* y, int64_t ldy, float* scratch) {
  const int64_t whole = cols / kBlock * kBlock;
  alignas(64) uint16_t packed[kGemmRows * kGemmCols];
  for (int64_t rb = r0; rb < r1; rb += kGemmRows) {
    const int64_t rows = r1 - rb < kGemmRows ? r1 - rb : kGemmRows;
    const int64_t next = r1 - rb - kGemmRows;  // rows of the next block (<= 0: none)
    for (int64_t i = 0; i < n * kGemmRows * kLanes; i += kLanes) Store(scratch + i, Zero());
    for (int64_t c0 = 0; c0 < whole; c0 += kGemmCols) {
      const int64_t count = whole - c0 < kGemmCols ? whole - c0 : kGemmCols;
      PackChunk(w, cols, rb, rows, c0, count, whole, next, packed);
      for (int64_t t0 = 0; t0 < n; t0 += 4) {
        float* acc = scratch + t0 * kGemmRows * kLanes;
        const uint16_t* xt = xb + t0 * ldxb + c0;
        for (int64_t q = 0; q < rows; q += 4) {
          const uint16_t* pq = packed + q * kGemmCols;
          float* aq = acc + q * kLanes;
          switch (n - t0) {
            case 1: DotChunk<1>(pq, count, xt, ldxb, whole, aq); break;
            case 2: DotChunk<2>(pq, count, xt, ldxb, whole, aq); break;
            case 3: DotChunk<3>(pq, count, xt, ldxb, whole, aq); break;
            default: DotChunk<4>(pq, count, xt, ldxb, whole, aq); break;
          }
        }
      }
    }
    for (int64_t t = 0; t < n; ++t)
      for (int64_t j = 0; j < rows; ++j) {
        const uint16_t* row = w + (rb + j) * cols;
        float tail = 0.0f;  // columns past the last whole block: float32 activations, as the float32 kernel
        for (int64_t c = whole; c < cols; ++c) tail += DecodeBf16(row[c]) * x[t * ldx + c];
        y[t * ldy + (rb - r0) + j] = Sum(Load(scratch + (t * kGemmRows + j) * kLanes)) + tail;
      }
  }
}
#endif

}  // namespace

#if defined(GLM_OPS_ISA_AVX512)
const DenseKernels& DenseKernelsAvx512() {
  static const DenseKernels table{"avx512", kBlock, &PermuteBf16Activations, &GemvBf16Any, &SplitBf16Activations,
                                  &GemvBf16DotAny, &GemmBf16Dot, &GemvF32Any, &GemvFp8Any};
  return table;
}
#else
const DenseKernels& DenseKernelsAvx2() {
  static const DenseKernels table{"avx2", kBlock, &PermuteBf16Activations, &GemvBf16Any, nullptr, nullptr, nullptr,
                                  &GemvF32Any, nullptr};
  return table;
}
#endif

}  // namespace glm_ops::cpu
