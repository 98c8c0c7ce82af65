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

// One token: 8 rows side by side (8 accumulator chains, more rows in flight from memory), over whole rows (its
// activations stay in L1). Two tokens or more: 4-row blocks, each against blocks of up to 4 tokens (16 chains beside
// 8 decoded weight and 2 activation registers of AVX-512's 32), over column chunks.
constexpr int kOneTokenRows = 8;
constexpr int kRows = 4;
constexpr int kBlockTokens = 4;
// Tokens that share one decode of a chunk's weights (a group); larger counts run group after group, each reading the
// item's rows again from L2.
constexpr int64_t kGroupTokens = 16;

// A group's column chunk: its tokens' activations of the chunk stay in L1 (16 KiB up to 8 tokens, 32 at 16) while
// every row block of the span runs over them. Run over whole rows instead, each block read the activations again from
// L2 (96 KiB per 4 tokens at GLM-5.2's 6144 columns: 8 vector loads from L2 per 32 FMAs). Measured (docs/benchmarks.md,
// "MoeExperts bf16: line-aligned activations, decode-once token blocks"): 256-column chunks from 9 tokens were no
// faster than 512, 1024-column chunks from 5 tokens slower.
constexpr int64_t ChunkSteps(int64_t tokens) { return tokens <= 4 ? 32 : 16; }
// The chains whose partial sums wait between chunks: span rows x group tokens = 256 registers' worth (16 KiB).
constexpr int64_t kSavedChains = 256;
constexpr int64_t SpanRows(int64_t tokens) { return kSavedChains / (tokens <= 4 ? 4 : tokens <= 8 ? 8 : 16); }
// With several token blocks the first decodes a chunk's weights of its row block and keeps them here (float32, in
// step order: per step each row's 16 even then 16 odd columns); the others load them (no decode on the FMA ports;
// decoding again in every block measured ~10 % slower at 8 tokens per expert).
constexpr int64_t kKeptSteps = ChunkSteps(kBlockTokens + 1);

enum class Source { kDecode, kDecodeAndKeep, kKept };

// One row block's rows and where their streams continue (see ProjectGroup).
template <int R>
struct RowBlock {
  const uint16_t* rows[R];
  const uint16_t* ahead[R];  // where each row's stream continues, at the first column the block's chunk will request
  bool prefetch;
  int64_t whole;   // steps with a whole 32-column load
  __mmask32 tail;  // the last step's columns past the row's end
};

// T tokens (xp[0..T), pair-ordered) against a block's R rows over steps [s0, s1): per row and token one chain of 16
// lanes, per step the even half then the odd half. `pass` of `passes` over the block: each step's next lines are
// requested by one pass only, spread so that memory keeps streaming while later passes compute.
template <int T, int R, Source kSource>
void Steps(const RowBlock<R>& b, const float* const* xp, int64_t s0, int64_t s1, float* kept_weights, int pass,
           int passes, __m512 (&acc)[T][R]) {
  const __m512i high_half = _mm512_set1_epi32(static_cast<int>(0xFFFF0000u));
  int phase = 0;
  for (int64_t s = s0; s < s1; ++s) {
    const int64_t c = s * kStep;
    if (b.prefetch && phase == pass)  // one 64-byte line per step and row
      for (int j = 0; j < R; ++j)
        _mm_prefetch(reinterpret_cast<const char*>(b.ahead[j] + (c - s0 * kStep)), _MM_HINT_T0);
    if (++phase == passes) phase = 0;
    __m512 even[R], odd[R];
    for (int j = 0; j < R; ++j) {
      if constexpr (kSource == Source::kKept) {
        const float* kw = kept_weights + (s - s0) * (2 * R * 16);
        even[j] = _mm512_load_ps(kw + 32 * j);
        odd[j] = _mm512_load_ps(kw + 32 * j + 16);
      } else {
        const __m512i v =
            s < b.whole ? _mm512_loadu_si512(b.rows[j] + c) : _mm512_maskz_loadu_epi16(b.tail, b.rows[j] + c);
        even[j] = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
        odd[j] = _mm512_castsi512_ps(_mm512_and_si512(v, high_half));
        if constexpr (kSource == Source::kDecodeAndKeep) {
          float* kw = kept_weights + (s - s0) * (2 * R * 16);
          _mm512_store_ps(kw + 32 * j, even[j]);
          _mm512_store_ps(kw + 32 * j + 16, odd[j]);
        }
      }
    }
    for (int t = 0; t < T; ++t) {
      const __m512 xe = _mm512_loadu_ps(xp[t] + c), xo = _mm512_loadu_ps(xp[t] + c + 16);
      for (int j = 0; j < R; ++j) acc[t][j] = _mm512_fmadd_ps(odd[j], xo, _mm512_fmadd_ps(even[j], xe, acc[t][j]));
    }
  }
}

// A token block's chains over one chunk: started from zero on the first chunk, else from the partial sums kept
// (stored and reloaded exactly, so a token's result does not depend on the chunks); after the last chunk summed by
// _mm512_reduce_add_ps into y (the block's first `rows` rows), else kept.
template <int T, int R, Source kSource>
void Chunk(const RowBlock<R>& b, const float* const* xp, int64_t s0, int64_t s1, int64_t steps, float* kept_weights,
           int pass, int passes, __m512* kept, float* y, int64_t ldy, int rows) {
  __m512 acc[T][R];
  for (int t = 0; t < T; ++t)
    for (int j = 0; j < R; ++j) acc[t][j] = s0 == 0 ? _mm512_setzero_ps() : kept[t * R + j];
  Steps<T, R, kSource>(b, xp, s0, s1, kept_weights, pass, passes, acc);
  if (s1 < steps) {
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < R; ++j) kept[t * R + j] = acc[t][j];
  } else {
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < rows; ++j) y[t * ldy + j] = _mm512_reduce_add_ps(acc[t][j]);
  }
}

template <Source kSource>
void ChunkOfBlock(int tokens, const RowBlock<kRows>& b, const float* const* xp, int64_t s0, int64_t s1,
                  int64_t steps, float* kept_weights, int pass, int passes, __m512* kept, float* y, int64_t ldy,
                  int rows) {
  switch (tokens) {
    case 1: Chunk<1, kRows, kSource>(b, xp, s0, s1, steps, kept_weights, pass, passes, kept, y, ldy, rows); break;
    case 2: Chunk<2, kRows, kSource>(b, xp, s0, s1, steps, kept_weights, pass, passes, kept, y, ldy, rows); break;
    case 3: Chunk<3, kRows, kSource>(b, xp, s0, s1, steps, kept_weights, pass, passes, kept, y, ldy, rows); break;
    default: Chunk<4, kRows, kSource>(b, xp, s0, s1, steps, kept_weights, pass, passes, kept, y, ldy, rows); break;
  }
}

// The block's rows (the last repeated past the span's end, its results not written) and where each stream
// continues: R rows on at the same columns; after the span's last block, its first rows at the next chunk's columns;
// after the last chunk, the next span's first rows, and after the last span the caller's next rows (`next`), at
// their first columns.
template <int R>
RowBlock<R> BlockAt(const WeightMatrix& w, int64_t rq, int64_t span, int64_t span_end, int64_t r1, int64_t s0,
                    int64_t s1, int64_t steps, const NextRows& next) {
  const uint16_t* base = static_cast<const uint16_t*>(w.data);
  const int64_t ld = w.row_bytes / 2;  // bf16 elements per stored row
  const int rows = static_cast<int>(span_end - rq < R ? span_end - rq : R);
  RowBlock<R> b;
  const bool last_block = rq + R >= span_end;
  b.prefetch = true;
  for (int j = 0; j < R; ++j) {
    b.rows[j] = base + (rq + (j < rows ? j : rows - 1)) * ld;
    if (!last_block)
      b.ahead[j] = base + (rq + R + (rq + R + j < span_end ? j : 0)) * ld + s0 * kStep;
    else if (s1 < steps)
      b.ahead[j] = base + (span + (span + j < span_end ? j : 0)) * ld + s1 * kStep;
    else if (span_end < r1)
      b.ahead[j] = base + (span_end + (span_end + j < r1 ? j : 0)) * ld;
    else if (next.data != nullptr)
      b.ahead[j] = static_cast<const uint16_t*>(next.data) + j * (next.row_bytes / 2);
    else
      b.prefetch = false;
  }
  b.whole = w.cols / kStep;
  b.tail = static_cast<__mmask32>((uint64_t{1} << (w.cols % kStep)) - 1);
  return b;
}

// One token against rows [r0, r1), 8 rows at a time over whole rows.
void ProjectOne(const WeightMatrix& w, int64_t r0, int64_t r1, const float* x, float* y, const NextRows& next) {
  const int64_t steps = PairColumns(w.cols) / kStep;
  for (int64_t rq = r0; rq < r1; rq += kOneTokenRows) {
    const RowBlock<kOneTokenRows> b = BlockAt<kOneTokenRows>(w, rq, rq, r1, r1, 0, steps, steps, next);
    const int rows = static_cast<int>(r1 - rq < kOneTokenRows ? r1 - rq : kOneTokenRows);
    Chunk<1, kOneTokenRows, Source::kDecode>(b, &x, 0, steps, steps, nullptr, 0, 1, nullptr, y + (rq - r0), 0, rows);
  }
}

// A group of 2..kGroupTokens tokens against rows [r0, r1): spans of rows, each over column chunks; per chunk every
// 4-row block of the span, and per block every token block in turn while its rows' chunk is hot (blocks of near-equal
// sizes, at most 4). With one token block the weights are decoded in registers as they are used; with more the
// first block keeps the decoded chunk for the others (the same float32 values, so the same bits).
void ProjectGroup(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* xp, int64_t n, float* y,
                  int64_t ldy, const NextRows& next) {
  const int64_t steps = PairColumns(w.cols) / kStep, chunk = ChunkSteps(n), span_rows = SpanRows(n);
  const int passes = static_cast<int>((n + kBlockTokens - 1) / kBlockTokens);
  int64_t first[kGroupTokens / kBlockTokens + 1];  // token block k is [first[k], first[k + 1])
  for (int k = 0; k <= passes; ++k) first[k] = n * k / passes;
  alignas(64) float kept_weights[kKeptSteps * 2 * kRows * 16];
  __m512 saved[kSavedChains];
  for (int64_t span = r0; span < r1; span += span_rows) {
    const int64_t span_end = span + span_rows < r1 ? span + span_rows : r1;
    for (int64_t s0 = 0; s0 < steps; s0 += chunk) {
      const int64_t s1 = s0 + chunk < steps ? s0 + chunk : steps;
      for (int64_t rq = span; rq < span_end; rq += kRows) {
        const RowBlock<kRows> b = BlockAt<kRows>(w, rq, span, span_end, r1, s0, s1, steps, next);
        const int rows = static_cast<int>(span_end - rq < kRows ? span_end - rq : kRows);
        __m512* kept = saved + (rq - span) / kRows * n * kRows;
        for (int k = 0; k < passes; ++k) {
          const int tokens = static_cast<int>(first[k + 1] - first[k]);
          const int64_t t0 = first[k];
          const float* const* xk = xp + t0;
          float* yk = y + t0 * ldy + (rq - r0);
          __m512* kk = kept + t0 * kRows;
          if (passes == 1)
            ChunkOfBlock<Source::kDecode>(tokens, b, xk, s0, s1, steps, nullptr, 0, 1, kk, yk, ldy, rows);
          else if (k == 0)
            ChunkOfBlock<Source::kDecodeAndKeep>(tokens, b, xk, s0, s1, steps, kept_weights, k, passes, kk, yk, ldy,
                                                 rows);
          else
            ChunkOfBlock<Source::kKept>(tokens, b, xk, s0, s1, steps, kept_weights, k, passes, kk, yk, ldy, rows);
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
                            float* y, int64_t ldy, const NextRows& next) {
  if (n == 1) return ProjectOne(w, r0, r1, xp[0], y, next);
  // Groups of near-equal sizes, at most kGroupTokens each: the first streams the rows from memory, the later ones
  // find them in L2 (an item's rows are at most 24 x 12 KiB at GLM-5.2 widths).
  const int64_t groups = (n + kGroupTokens - 1) / kGroupTokens;
  const NextRows again = w.From(r0);  // what a group other than the last reads next: the same rows
  for (int64_t g = 0; g < groups; ++g) {
    const int64_t t0 = n * g / groups, t1 = n * (g + 1) / groups;
    ProjectGroup(w, r0, r1, xp + t0, t1 - t0, y + t0 * ldy, ldy, g + 1 < groups ? again : next);
  }
}

}  // namespace glm_ops::cpu

#pragma GCC diagnostic pop

#endif
