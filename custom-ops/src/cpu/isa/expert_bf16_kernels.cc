// bf16 expert weights on AVX-512, every token count: 512-bit FMAs on weights decoded in registers, in the order they
// are stored. Compiled with the other per-ISA files (custom-ops/CMakeLists.txt); only the AVX-512 compilation defines
// anything: the AVX2 table keeps its float32 paths (cpu/expert_kernels.h).
//
// A 64-byte load holds 32 bf16 weights, lane i (32 bits) pairing columns 2i (low half) and 2i+1 (high half). A shift
// left by 16 gives the even columns as float32, a mask of the low half the odd ones: two exact decodes per 32
// weights, shared by every token of the step. Each token's activations are reordered once per call to match (per
// 32-column block: its 16 even columns, then its 16 odd ones; BlockPairActivations), so one FMA per half multiplies
// 16 weights by their activations: float32 products and sums, as the other float paths (no bf16 rounding of the
// activations). Measured on an Intel Xeon with AVX-512 and AMX, one thread (docs/benchmarks.md, branch `expf`):
// vdpbf16ps retires at half the rate of a 512-bit FMA there, so the split-activation dot product (two vdpbf16ps per
// 32 products, for float32-level accuracy) was slower than this kernel and than the AVX2 decoded tile at 8 tokens.
#include <immintrin.h>

#include "cpu/expert_kernels.h"

#if defined(GLM_OPS_ISA_AVX512)

#pragma GCC diagnostic push
// GCC 12's AVX-512 headers fill the "undefined" lanes of unmasked intrinsics from a self-initialised variable, which
// -Wmaybe-uninitialized reports under -Werror (as in expert_kernels.cc); the lanes used are fully written.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace glm_ops::cpu {

namespace {

constexpr int64_t kStep = 32;  // columns per 64-byte load of weights

// Rows side by side per step: 8 accumulator chains for one token (decode: more rows in flight from memory), 4 rows
// x 4 tokens = 16 chains otherwise (beside 8 decoded weight and 2 activation registers of AVX-512's 32).
constexpr int RowsFor(int tokens) { return tokens == 1 ? 8 : 4; }

// Steps per column chunk with two tokens or more: the tokens' activations of a chunk (1024 columns, 16 KiB at four
// tokens) stay in L1 while every row block of the span runs over them. Run over whole rows instead, each 4-row block
// read all four tokens' activations again from L2 (96 KiB at GLM-5.2's 6144 columns): 8 vector loads from L2 per 32
// FMAs. One token's activations stay in L1 over whole rows.
constexpr int64_t kChunkSteps = 32;
// Rows whose partial sums wait between chunks (at most 64 / 4 blocks x 4 tokens x 4 rows x 64 B = 16 KiB).
constexpr int64_t kSpanRows = 64;

// T tokens (xp[0..T), pair-ordered, PairColumns long) against rows [r0, r1). Per row and token one chain of 16 lanes,
// per step the even half then the odd half, summed by _mm512_reduce_add_ps at the end: a token's result does not
// depend on T, on which rows share its step or on the chunks (a chain's partial sums are stored and reloaded
// exactly). The last step of a row whose width is not a multiple of 32 loads its weights under a mask (zeros past the
// row, no read there), against zero-padded activations. Prefetch: each row's stream continues R rows further on (the
// next block of this chunk, or the next item's rows, which the same thread usually reads next), up to the matrix's
// end; the span's last block asks for its first block's next chunk.
template <int T>
void ProjectPairs(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* xp, float* y, int64_t ldy) {
  constexpr int R = RowsFor(T);
  const int64_t steps = PairColumns(w.cols) / kStep, whole = w.cols / kStep;
  const int64_t chunk = T == 1 ? steps : kChunkSteps;
  const __mmask32 tail = static_cast<__mmask32>((uint64_t{1} << (w.cols % kStep)) - 1);
  const __m512i high_half = _mm512_set1_epi32(static_cast<int>(0xFFFF0000u));
  const uint16_t* base = static_cast<const uint16_t*>(w.data);
  const int64_t ld = w.row_bytes / 2;  // bf16 elements per stored row
  __m512 saved[kSpanRows / R][T][R];
  for (int64_t span = r0; span < r1; span += kSpanRows) {
    const int64_t span_end = span + kSpanRows < r1 ? span + kSpanRows : r1;
    for (int64_t s0 = 0; s0 < steps; s0 += chunk) {
      const int64_t s1 = s0 + chunk < steps ? s0 + chunk : steps;
      for (int64_t rq = span; rq < span_end; rq += R) {
        const int rows = static_cast<int>(span_end - rq < R ? span_end - rq : R);
        const uint16_t* rp[R];
        for (int j = 0; j < R; ++j) rp[j] = base + (rq + (j < rows ? j : rows - 1)) * ld;
        // Where this block's stream continues: R rows on, at the same columns; after the span's last block, the
        // span's first rows at the next chunk's columns.
        const bool last_block = rq + R >= span_end;
        const uint16_t* ahead[R];
        for (int j = 0; j < R; ++j)
          ahead[j] = last_block && s1 < steps ? base + (span + (span + j < span_end ? j : 0)) * ld + (s1 - s0) * kStep
                                              : rp[j] + R * ld;
        const bool prefetch = (last_block && s1 < steps) || rq + 2 * R <= w.rows;
        __m512(&kept)[T][R] = saved[(rq - span) / R];
        __m512 acc[T][R];
        for (int t = 0; t < T; ++t)
          for (int j = 0; j < R; ++j) acc[t][j] = s0 == 0 ? _mm512_setzero_ps() : kept[t][j];
        for (int64_t s = s0; s < s1; ++s) {
          const int64_t c = s * kStep;
          if (prefetch)  // one 64-byte line per step and row
            for (int j = 0; j < R; ++j) _mm_prefetch(reinterpret_cast<const char*>(ahead[j] + c), _MM_HINT_T0);
          __m512 even[R], odd[R];
          for (int j = 0; j < R; ++j) {
            const __m512i v = s < whole ? _mm512_loadu_si512(rp[j] + c) : _mm512_maskz_loadu_epi16(tail, rp[j] + c);
            even[j] = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
            odd[j] = _mm512_castsi512_ps(_mm512_and_si512(v, high_half));
          }
          for (int t = 0; t < T; ++t) {
            const __m512 xe = _mm512_loadu_ps(xp[t] + c), xo = _mm512_loadu_ps(xp[t] + c + 16);
            for (int j = 0; j < R; ++j)
              acc[t][j] = _mm512_fmadd_ps(odd[j], xo, _mm512_fmadd_ps(even[j], xe, acc[t][j]));
          }
        }
        if (s1 < steps) {
          for (int t = 0; t < T; ++t)
            for (int j = 0; j < R; ++j) kept[t][j] = acc[t][j];
        } else {
          for (int t = 0; t < T; ++t)
            for (int j = 0; j < rows; ++j) y[t * ldy + (rq - r0) + j] = _mm512_reduce_add_ps(acc[t][j]);
        }
      }
    }
  }
}

}  // namespace

void PairBf16Avx512(const float* x, int64_t cols, float* out) {
  const int64_t padded = PairColumns(cols);
  const __m512i even_index = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd_index = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  for (int64_t c = 0; c < padded; c += kStep) {
    const int64_t left = cols - c;
    auto valid = [](int64_t n) {
      return n >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>(n > 0 ? (1u << n) - 1 : 0);
    };
    const __m512 a = _mm512_maskz_loadu_ps(valid(left), x + c);  // zeros past the row: the padding
    const __m512 b = _mm512_maskz_loadu_ps(valid(left - 16), x + c + 16);
    _mm512_storeu_ps(out + c, _mm512_permutex2var_ps(a, even_index, b));
    _mm512_storeu_ps(out + c + 16, _mm512_permutex2var_ps(a, odd_index, b));
  }
}

void ProjectBf16PairsAvx512(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* xp, int64_t n,
                            float* y, int64_t ldy) {
  // Blocks of up to four tokens: the first streams the rows from memory, the later ones find them in L1/L2 (an
  // item's rows are at most 24 x 12 KiB at GLM-5.2 widths).
  for (int64_t t0 = 0; t0 < n; t0 += 4) {
    const int64_t size = n - t0 < 4 ? n - t0 : 4;
    switch (size) {
      case 1: ProjectPairs<1>(w, r0, r1, xp + t0, y + t0 * ldy, ldy); break;
      case 2: ProjectPairs<2>(w, r0, r1, xp + t0, y + t0 * ldy, ldy); break;
      case 3: ProjectPairs<3>(w, r0, r1, xp + t0, y + t0 * ldy, ldy); break;
      default: ProjectPairs<4>(w, r0, r1, xp + t0, y + t0 * ldy, ldy); break;
    }
  }
}

}  // namespace glm_ops::cpu

#pragma GCC diagnostic pop

#endif
