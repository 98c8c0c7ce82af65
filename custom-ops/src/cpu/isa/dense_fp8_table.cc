// Block-FP8 (e4m3fn) weights at one or two tokens through a byte table, on AVX-512 CPUs that also have VBMI
// (cpu/dense_fp8_table.h). Compiled with the other per-ISA files (custom-ops/CMakeLists.txt); only the AVX-512
// compilation defines anything, and only the functions marked for VBMI use it.
//
// Every e4m3 value is exactly a bfloat16 (at most 4 significant bits, exponents 2^-9 .. 2^8, the subnormals
// included), so a 128-entry table per byte of the bfloat16 (indexed by the code without its sign) decodes 64 weights
// with two vpermi2b, and the sign is the code's top bit. Before the lookup one vpermb orders the 64 codes so that
// interleaving the two bytes gives the bfloat16 of columns 0-31 in one register and 32-63 in the other; as in the
// bf16 kernels, lane i then holds columns 2i (low half: shifted up, float32) and 2i+1 (high half: masked), multiplied
// in float32 by the token's even and odd activations. NaN codes map to NaN, so a row holding one gives NaN with no
// scan. Per 64 weights: one load, one vpermb, two vpermi2b, one vpternlogd, two unpacks, two shifts, two masks and
// four FMAs, where the float16 decoder spends a widening shuffle, a shift, a mask and a two-uop conversion per 16.
#include "cpu/dense_fp8_table.h"

#if defined(GLM_OPS_ISA_AVX512)

#include <immintrin.h>

#include "cpu/weight_decode.h"

#pragma GCC diagnostic push
// GCC 12's AVX-512 headers fill the "undefined" lanes of unmasked intrinsics from a self-initialised variable, which
// -Wmaybe-uninitialized reports under -Werror (as in expert_kernels.cc); the lanes used are fully written.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace glm_ops::cpu {

namespace {

constexpr int64_t kStep = 64;  // columns (bytes) per step: one cache line of each row
constexpr int64_t kPrefetchRows = 8;

// The bfloat16 bits of e4m3fn code c (0..127, no sign): e = c >> 3, m = c & 7; 0x7F is NaN.
constexpr uint16_t Bf16OfE4M3(int c) {
  if (c == 0x7F) return 0x7FC0;
  const int e = c >> 3, m = c & 7;
  if (e > 0) return static_cast<uint16_t>(((e + 120) << 7) | (m << 4));  // 2^(e-7) (1 + m/8)
  if (m == 0) return 0;
  const int top = m >= 4 ? 2 : m >= 2 ? 1 : 0;  // m 2^-9 = 2^(top-9) (m / 2^top)
  return static_cast<uint16_t>(((127 + top - 9) << 7) | ((m - (1 << top)) << (7 - top)));
}

struct Tables {
  alignas(64) uint8_t hi[128], lo[128];
  alignas(64) uint8_t order[64];  // vpermb indices: position 16l + j takes column 8l + j, 16l + 8 + j column 32 + 8l + j
};
constexpr Tables MakeTables() {
  Tables t{};
  for (int c = 0; c < 128; ++c) {
    t.hi[c] = static_cast<uint8_t>(Bf16OfE4M3(c) >> 8);
    t.lo[c] = static_cast<uint8_t>(Bf16OfE4M3(c) & 0xFF);
  }
  for (int l = 0; l < 4; ++l)
    for (int j = 0; j < 8; ++j) {
      t.order[16 * l + j] = static_cast<uint8_t>(8 * l + j);
      t.order[16 * l + 8 + j] = static_cast<uint8_t>(32 + 8 * l + j);
    }
  return t;
}
constexpr Tables kTables = MakeTables();

#define GLM_VBMI __attribute__((target("avx512vbmi")))

// The table registers of a call.
struct Decoder {
  __m512i hi0, hi1, lo0, lo1, order;
};

GLM_VBMI inline Decoder LoadDecoder() {
  return {_mm512_load_si512(kTables.hi), _mm512_load_si512(kTables.hi + 64), _mm512_load_si512(kTables.lo),
          _mm512_load_si512(kTables.lo + 64), _mm512_load_si512(kTables.order)};
}

// 64 codes at p as float32: columns 2i and 2i+1 of the first 32 in even[0] / odd[0] lane i, of the last 32 in
// even[1] / odd[1].
GLM_VBMI inline void Decode64(const Decoder& d, const uint8_t* p, __m512* even, __m512* odd) {
  const __m512i codes = _mm512_permutexvar_epi8(d.order, _mm512_loadu_si512(p));
  // The high byte with the code's sign: table | (codes & 0x80) (the table's high bytes have their top bit clear).
  const __m512i hi = _mm512_ternarylogic_epi32(_mm512_permutex2var_epi8(d.hi0, codes, d.hi1), codes,
                                               _mm512_set1_epi8(static_cast<char>(0x80)), 0xF8);
  const __m512i lo = _mm512_permutex2var_epi8(d.lo0, codes, d.lo1);
  const __m512i mask = _mm512_set1_epi32(static_cast<int>(0xFFFF0000u));
  const __m512i first = _mm512_unpacklo_epi8(lo, hi), second = _mm512_unpackhi_epi8(lo, hi);
  even[0] = _mm512_castsi512_ps(_mm512_slli_epi32(first, 16));
  odd[0] = _mm512_castsi512_ps(_mm512_and_si512(first, mask));
  even[1] = _mm512_castsi512_ps(_mm512_slli_epi32(second, 16));
  odd[1] = _mm512_castsi512_ps(_mm512_and_si512(second, mask));
}

// A token's 64 activations at p as its even columns and odd ones, halves as in Decode64.
inline void SplitActivations(const float* p, __m512* even, __m512* odd) {
  const __m512i even_index = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd_index = _mm512_add_epi32(even_index, _mm512_set1_epi32(1));
  for (int h = 0; h < 2; ++h) {
    const __m512 a = _mm512_loadu_ps(p + 32 * h), b = _mm512_loadu_ps(p + 32 * h + 16);
    even[h] = _mm512_permutex2var_ps(a, even_index, b);
    odd[h] = _mm512_permutex2var_ps(a, odd_index, b);
  }
}

// T tokens, R rows side by side (8 at one token, 4 at two), as gemv_fp8: per row and scale block, 16-lane sums over
// the block's whole 64-column steps, times the block's scale into the row's total; columns past the last whole step
// (the last block's, qb being a multiple of 64) as exact scalars, scaled likewise.
template <int T>
GLM_VBMI void GemvFp8Table(const uint8_t* w, const float* scales, int64_t rows_in_w, int64_t cols, int64_t qb,
                           int64_t r0, int64_t r1, const float* const* x, float* y, int64_t ldy) {
  constexpr int R = T == 1 ? 8 : 4;
  const Decoder d = LoadDecoder();
  const int64_t scale_cols = (cols + qb - 1) / qb;
  for (int64_t rq = r0; rq < r1; rq += R) {
    const int rows = static_cast<int>(r1 - rq < R ? r1 - rq : R);
    const uint8_t* rp[R];
    const float* scale_row[R];
    for (int j = 0; j < R; ++j) {
      const int64_t r = rq + (j < rows ? j : rows - 1);
      rp[j] = w + r * cols;
      scale_row[j] = scales + (r / qb) * scale_cols;
    }
    __m512 total[T][R];
    float tail_total[T][R];
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < R; ++j) {
        total[t][j] = _mm512_setzero_ps();
        tail_total[t][j] = 0.0f;
      }
    // Past r1 too: a caller's next call (MoeExperts' next item) usually reads the rows that follow.
    const bool prefetch = rq + kPrefetchRows + R <= rows_in_w;
    const uint8_t* ahead = w + (rq + kPrefetchRows) * cols;
    for (int64_t b0 = 0, block = 0; b0 < cols; b0 += qb, ++block) {
      const int64_t b1 = b0 + qb < cols ? b0 + qb : cols;
      const int64_t whole = b0 + (b1 - b0) / kStep * kStep;
      __m512 acc[T][R];
      float tail[T][R];
      for (int t = 0; t < T; ++t)
        for (int j = 0; j < R; ++j) {
          acc[t][j] = _mm512_setzero_ps();
          tail[t][j] = 0.0f;
        }
      for (int64_t c = b0; c < whole; c += kStep) {
        __m512 xe[T][2], xo[T][2];
        for (int t = 0; t < T; ++t) SplitActivations(x[t] + c, xe[t], xo[t]);
        for (int j = 0; j < R; ++j) {
          if (prefetch) _mm_prefetch(reinterpret_cast<const char*>(ahead + j * cols + c), _MM_HINT_T0);
          __m512 we[2], wo[2];
          Decode64(d, rp[j] + c, we, wo);
          for (int t = 0; t < T; ++t)
            for (int h = 0; h < 2; ++h)
              acc[t][j] = _mm512_fmadd_ps(wo[h], xo[t][h], _mm512_fmadd_ps(we[h], xe[t][h], acc[t][j]));
        }
      }
      for (int64_t c = whole; c < b1; ++c)  // exact scalar decoding (a NaN code decodes to NaN here)
        for (int j = 0; j < R; ++j) {
          const float wf = DecodeE4M3(rp[j][c]);
          for (int t = 0; t < T; ++t) tail[t][j] += wf * x[t][c];
        }
      for (int j = 0; j < R; ++j) {
        const float scale = scale_row[j][block];
        for (int t = 0; t < T; ++t) {
          total[t][j] = _mm512_fmadd_ps(acc[t][j], _mm512_set1_ps(scale), total[t][j]);
          tail_total[t][j] += tail[t][j] * scale;
        }
      }
    }
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < rows; ++j) y[t * ldy + (rq - r0) + j] = _mm512_reduce_add_ps(total[t][j]) + tail_total[t][j];
  }
}

#undef GLM_VBMI

}  // namespace

bool Fp8TableApplies(int64_t tokens, int64_t qb) {
  static const bool cpu_has_vbmi = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vbmi") != 0;
  }();
  return cpu_has_vbmi && Fp8TableEnabled() && tokens >= 1 && tokens <= kFp8TableMaxTokens && qb % kStep == 0;
}

void GemvFp8TableAvx512(const uint8_t* w, const float* scales, int64_t rows, int64_t cols, int64_t qb, int64_t r0,
                        int64_t r1, const float* const* x, int64_t n, float* y, int64_t ldy) {
  if (n == 1) return GemvFp8Table<1>(w, scales, rows, cols, qb, r0, r1, x, y, ldy);
  return GemvFp8Table<2>(w, scales, rows, cols, qb, r0, r1, x, y, ldy);
}

}  // namespace glm_ops::cpu

#pragma GCC diagnostic pop

#endif
