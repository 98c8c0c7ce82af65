// The hot expert-projection kernels, compiled once per instruction set (custom-ops/CMakeLists.txt): plain, for
// x86-64-v3 (AVX2), and with GLM_OPS_ISA_AVX512 and the AVX-512 F/BW/VL/VNNI/BF16 flags, where the integer dot
// products use VNNI's vpdpbusd. Each compilation exports its table (cpu/expert_kernels.h); nothing here is called
// except through a table, and everything else stays in an anonymous namespace (distinct per compilation).
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "cpu/expert_kernels.h"
#include "cpu/simd.h"
#include "cpu/weight_decode.h"

namespace glm_ops::cpu {

namespace {

#if defined(GLM_OPS_ISA_AVX512)
constexpr bool kAvx512 = true;
#else
constexpr bool kAvx512 = false;
#endif

// Local min/max/fill: a standard-library template instantiated here with AVX-512 enabled could be kept by the
// linker for callers elsewhere (cpu/expert_kernels.h).
template <typename T>
constexpr T Min(T a, T b) {
  return b < a ? b : a;
}
template <typename T>
constexpr T Max(T a, T b) {
  return a < b ? b : a;
}
inline void Zero(float* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) p[i] = 0.0f;
}

constexpr int64_t ElementBytes(ExpertWeightFormat format) {
  return format == ExpertWeightFormat::kFloat32 ? 4 : format == ExpertWeightFormat::kBFloat16 ? 2 : 1;
}

// Byte offset of column c in a row (int4: two columns per byte; c even wherever this is used).
constexpr int64_t ColumnOffset(ExpertWeightFormat format, int64_t c) {
  return format == ExpertWeightFormat::kInt4 ? c / 2 : c * ElementBytes(format);
}

// Software prefetch of a work item's weights, about kPrefetchAhead bytes ahead of where they are being read. An
// item reads consecutive rows [r0, r1) of one matrix, i.e. one contiguous byte range, R rows side by side; the
// hardware prefetcher alone kept too few cache-line misses in flight on it (docs/benchmarks.md, "MoeExperts:
// prefetching ahead"). With R rows side by side each row's stream continues R rows further on, so the lead is a
// whole number of such steps. Prefetches stop at the matrix's end (past it lie other experts' rows); past the item's
// end they fetch the next item's rows, which the same thread usually reads next.
constexpr int64_t kPrefetchAhead = 4096;  // measured: 2-6 KiB alike on `small`; 8 KiB no better at GLM-5.2 widths

class ItemPrefetch {
 public:
  ItemPrefetch(const WeightMatrix& w, int64_t r0, int64_t r1, int64_t rows_per_step)
      : end_(static_cast<const uint8_t*>(w.data) + w.rows * w.row_bytes) {
    const int64_t step = rows_per_step * w.row_bytes;
    lead_ = rows_per_step == 1 ? kPrefetchAhead : (kPrefetchAhead + step - 1) / step * step;
    // The item's first bytes: nothing before them prefetches them.
    const uint8_t* begin = static_cast<const uint8_t*>(w.data) + r0 * w.row_bytes;
    const int64_t first = Min((r1 - r0) * w.row_bytes, kPrefetchAhead);
    for (int64_t b = 0; b < first; b += 64) _mm_prefetch(reinterpret_cast<const char*>(begin + b), _MM_HINT_T0);
    // int8/int4: the float16 scales of the item's rows and of the next item's (a separate tensor, read a few bytes
    // per row; nothing else fetches them ahead).
    if (w.format == ExpertWeightFormat::kInt8 || w.format == ExpertWeightFormat::kInt4) {
      const uint8_t* scales = static_cast<const uint8_t*>(w.scales);
      const int64_t row_scale_bytes = w.scale_cols * 2;
      const int64_t s0 = r0 * row_scale_bytes, s1 = Min(w.rows, r1 + (r1 - r0)) * row_scale_bytes;
      for (int64_t b = s0 & ~int64_t{63}; b < s1; b += 64)
        _mm_prefetch(reinterpret_cast<const char*>(scales + b), _MM_HINT_T0);
    }
  }
  // Called with a read position about once per 64 bytes read there.
  void At(const uint8_t* p) const {
    if (end_ - p > lead_) _mm_prefetch(reinterpret_cast<const char*>(p + lead_), _MM_HINT_T0);
  }

 private:
  const uint8_t* end_;
  int64_t lead_;
};

// ---------------------------------------------------------------------------------------------------------------
// Register-decoded float path (float32, bf16, FP8)

template <ExpertWeightFormat F>
inline __m256 LoadDecoded(const uint8_t* row, int64_t c);
template <>
inline __m256 LoadDecoded<ExpertWeightFormat::kFloat32>(const uint8_t* row, int64_t c) {
  return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + c);
}
template <>
inline __m256 LoadDecoded<ExpertWeightFormat::kBFloat16>(const uint8_t* row, int64_t c) {
  return DecodeBf16x8(reinterpret_cast<const uint16_t*>(row) + c);
}
template <>
inline __m256 LoadDecoded<ExpertWeightFormat::kFloat8E4M3>(const uint8_t* row, int64_t c) {
  return DecodeE4M3x8Half(row + c);  // value * 2^-8; the block scale carries the 2^8
}

template <ExpertWeightFormat F>
inline float LoadDecodedScalar(const uint8_t* row, int64_t c) {
  if constexpr (F == ExpertWeightFormat::kFloat32) return reinterpret_cast<const float*>(row)[c];
  if constexpr (F == ExpertWeightFormat::kBFloat16) return DecodeBf16(reinterpret_cast<const uint16_t*>(row)[c]);
  return DecodeE4M3(row[c]) * (1.0f / kE4M3HalfRescale);  // same 2^-8 as the vector decoder (exact)
}

// Rows of one side-by-side step for T tokens: 4 (up to 12 accumulators), 2 at four tokens, where 4 x 4
// accumulators spill (measured, 48 x 6144 matrix, one thread: bf16 45 -> 56 GFLOP/CPU-s, fp8 30 -> 35). Both
// divide every quant block (a multiple of 8), so a step's rows share one row of FP8 scales.
constexpr int DirectRows(int tokens) { return tokens >= 4 ? 2 : 4; }

// The decode-time path (1..kDirectMaxTokens tokens): weights are decoded in registers and used at once by every
// token, R rows side by side, each weight byte read once and never stored. Per row and token the sums run in the
// decoded tile's order (float32/bf16: one 8-lane chain in column order, HorizontalSum, then the scalar tail, as
// ProjectTiled), so a token's result does not depend on how many other tokens share its expert (callers compare runs
// bit for bit, e.g. the MTP draft rows of earlier tokens when a later token changes); the R rows give R independent
// chains. FP8 dot products run per scale block and are scaled afterwards; rows holding an FP8 NaN code give NaN, as
// the dequantised product would. Short rows (the small preset's 2 KiB / 768 B) were once read one at a time, which
// streamed faster than side by side without software prefetch; with ItemPrefetch side by side is faster at every
// width measured (docs/benchmarks.md, "MoeExperts: prefetching ahead").
template <ExpertWeightFormat F, int T>
void ProjectRowsSideBySide(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* x, float* y,
                           int64_t ldy) {
  constexpr int R = DirectRows(T);
  constexpr bool kFp8 = F == ExpertWeightFormat::kFloat8E4M3;
  const int64_t segment = kFp8 ? w.quant_block : w.cols;
  const float* scales = static_cast<const float*>(w.scales);
  const ItemPrefetch prefetch(w, r0, r1, R);
  constexpr int64_t kLineColumns = 64 / ElementBytes(F);
  for (int64_t rq = r0; rq < r1; rq += R) {
    const int rows = static_cast<int>(Min<int64_t>(R, r1 - rq));
    const uint8_t* rp[R];
    for (int j = 0; j < R; ++j)
      rp[j] = static_cast<const uint8_t*>(w.data) + (rq + Min(j, rows - 1)) * w.row_bytes;
    __m256 total[T][R];
    float tail_total[T][R];
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < R; ++j) {
        total[t][j] = _mm256_setzero_ps();
        tail_total[t][j] = 0.0f;
      }
    E4M3NanScan nan_scan;  // FP8: NaN codes in the vector part (the scalar tails decode NaN exactly)
    // FP8: the group's rows share one row of scale blocks (rq is a multiple of R, which divides the quant block).
    const float* scale_row = kFp8 ? scales + (rq / w.quant_block) * w.scale_cols : nullptr;
    for (int64_t s0 = 0, block = 0; s0 < w.cols; s0 += segment, ++block) {
      const int64_t s1 = Min(w.cols, s0 + segment);
      const int64_t s8 = s0 + ((s1 - s0) & ~int64_t{7});
      __m256 acc[T][R];
      float tail[T][R];
      for (int t = 0; t < T; ++t)
        for (int j = 0; j < R; ++j) {
          acc[t][j] = _mm256_setzero_ps();
          tail[t][j] = 0.0f;
        }
      auto step = [&](int64_t c) {
        if (c % kLineColumns == 0)
          for (int j = 0; j < R; ++j) prefetch.At(rp[j] + c * ElementBytes(F));
        __m256 xv[T];
        for (int t = 0; t < T; ++t) xv[t] = _mm256_loadu_ps(x[t] + c);
        for (int j = 0; j < R; ++j) {
          const __m256 wv = LoadDecoded<F>(rp[j], c);
          for (int t = 0; t < T; ++t) acc[t][j] = _mm256_fmadd_ps(wv, xv[t], acc[t][j]);
        }
      };
      int64_t c = s0;
      if constexpr (kFp8) {
        for (; c + 32 <= s8; c += 32) {
          for (int j = 0; j < R; ++j) nan_scan.Add32(rp[j] + c);
          for (int u = 0; u < 32; u += 8) step(c + u);
        }
        for (; c < s8; c += 8) {
          for (int j = 0; j < R; ++j) nan_scan.Add8(rp[j] + c);
          step(c);
        }
      }
      for (; c < s8; c += 8) step(c);
      for (c = s8; c < s1; ++c)
        for (int j = 0; j < R; ++j) {
          const float wf = LoadDecodedScalar<F>(rp[j], c);
          for (int t = 0; t < T; ++t) tail[t][j] = std::fma(wf, x[t][c], tail[t][j]);  // as the tile
        }
      const float scale = kFp8 ? scale_row[block] * kE4M3HalfRescale : 1.0f;
      for (int j = 0; j < R; ++j) {
        for (int t = 0; t < T; ++t) {
          total[t][j] = _mm256_fmadd_ps(acc[t][j], _mm256_set1_ps(scale), total[t][j]);
          tail_total[t][j] += tail[t][j] * scale;
        }
      }
    }
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < rows; ++j)
        y[t * ldy + (rq - r0) + j] = simd::HorizontalSum(total[t][j]) + tail_total[t][j];
    // Rare: a row holding an FP8 NaN code gives NaN, as its dequantised product would.
    if (kFp8 && nan_scan.Found())
      for (int j = 0; j < rows; ++j)
        if (HasE4M3Nan(rp[j], w.cols))
          for (int t = 0; t < T; ++t) y[t * ldy + (rq - r0) + j] = NAN;
  }
}

template <ExpertWeightFormat F>
void ProjectRowsDirectAny(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* x, int64_t n, float* y,
                          int64_t ldy) {
  static_assert(kDirectMaxTokens >= 1 && kDirectMaxTokens <= 4, "direct path instantiated for 1..4 tokens");
  switch (n) {
    case 1: return ProjectRowsSideBySide<F, 1>(w, r0, r1, x, y, ldy);
    case 2: return ProjectRowsSideBySide<F, 2>(w, r0, r1, x, y, ldy);
    case 3: return ProjectRowsSideBySide<F, 3>(w, r0, r1, x, y, ldy);
    default: return ProjectRowsSideBySide<F, 4>(w, r0, r1, x, y, ldy);
  }
}

void ProjectDirect(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* x, int64_t n, float* y,
                   int64_t ldy) {
  switch (w.format) {
    case ExpertWeightFormat::kFloat32:
      return ProjectRowsDirectAny<ExpertWeightFormat::kFloat32>(w, r0, r1, x, n, y, ldy);
    case ExpertWeightFormat::kBFloat16:
      return ProjectRowsDirectAny<ExpertWeightFormat::kBFloat16>(w, r0, r1, x, n, y, ldy);
    case ExpertWeightFormat::kFloat8E4M3:
      return ProjectRowsDirectAny<ExpertWeightFormat::kFloat8E4M3>(w, r0, r1, x, n, y, ldy);
    case ExpertWeightFormat::kInt8:
    case ExpertWeightFormat::kInt4: break;  // never routed here (ProjectRows)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Integer path (int8 / int4 weights, int8 activations)

// 32 int8 weights of one row as the unsigned operand of the byte dot product (|q|, 0..127) and the sign source (q).
struct WeightChunk {
  __m256i magnitude;
  __m256i sign;
};

inline WeightChunk LoadInt8Chunk(const uint8_t* p) {
  const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return {_mm256_sign_epi8(q, q), q};
}

// Per-lane sums of four adjacent byte products, weights times activations. The weights' signs move onto the
// activations (|w| * sign(w) x): products stay within 2 * 127 * 127 per 16-bit pair, no saturation.
inline __m256i DotInt8Chunk(const WeightChunk& w, __m256i x) {
  const __m256i signed_x = _mm256_sign_epi8(x, w.sign);
#if defined(GLM_OPS_ISA_AVX512)
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), w.magnitude, signed_x);
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(w.magnitude, signed_x), _mm256_set1_epi16(1));
#endif
}

// Rows per step. int8: one, read from start to end as one sequential stream; several rows side by side (the former
// four for one token, two for two) streamed fewer bytes per CPU-second here before software prefetch (ItemPrefetch;
// not re-measured since, unlike the float path). int4: four for one token, two, one at three and four tokens on
// AVX2 (2 x 4 float sums plus as many totals exceed its 16 vector registers; AVX-512 has 32): its rows are half as
// long and its per-row work (nibble unpacking, scales) is larger, and one row at a time measured slower (0.33 ->
// 0.47 ms CPU per small-preset call, one thread, before the 512-bit step).
constexpr int Int8Rows(int) { return 1; }
constexpr int Int4Rows(int tokens) { return tokens == 1 ? 4 : kAvx512 || tokens <= 2 ? 2 : 1; }


// int8: T tokens (xq[0..T)) against rows [r0, r1). Per row, weight group and 32-column chunk: the chunk's int32
// dot product times the chunk's activation scale, summed in float over the group, then times the group's float16
// weight scale. The last chunk of a row whose width is not a multiple of 32 is copied into a zero-padded buffer
// (the activations are zero-padded there too), so no load reads past the row.
template <int T>
void ProjectRowsInt8(const WeightMatrix& w, int64_t r0, int64_t r1, const QuantizedRow* xq, float* y, int64_t ldy) {
  constexpr int R = Int8Rows(T);
  const int64_t groups = w.scale_cols, group = w.quant_block;
  const int64_t whole = w.cols / kActivationChunk;  // chunks that lie inside the row
  const int64_t chunks = (w.cols + kActivationChunk - 1) / kActivationChunk;
  const uint16_t* scales = static_cast<const uint16_t*>(w.scales);
  static_assert(R == 1, "one sequential stream per item");
  const ItemPrefetch prefetch(w, r0, r1, R);
  for (int64_t rq = r0; rq < r1; rq += R) {
    const int rows = static_cast<int>(Min<int64_t>(R, r1 - rq));
    const uint8_t* rp[R];
    const uint16_t* sp[R];
    alignas(32) uint8_t padded[R][32];
    for (int j = 0; j < R; ++j) {
      const int64_t r = rq + Min(j, rows - 1);
      rp[j] = static_cast<const uint8_t*>(w.data) + r * w.row_bytes;
      sp[j] = scales + r * groups;
      if (whole < chunks) {
        const int64_t at = whole * 32;
        std::memset(padded[j], 0, sizeof padded[j]);
        std::memcpy(padded[j], rp[j] + at, static_cast<size_t>(w.row_bytes - at));
      }
    }
    __m256 total[T][R];
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < R; ++j) total[t][j] = _mm256_setzero_ps();
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t k0 = g * group / kActivationChunk;
      const int64_t k1 = Min((g + 1) * group / kActivationChunk, chunks);
      __m256 sum[T][R];
      for (int t = 0; t < T; ++t)
        for (int j = 0; j < R; ++j) sum[t][j] = _mm256_setzero_ps();
      for (int64_t k = k0; k < k1; ++k) {
        if ((k & 1) == 0) prefetch.At(rp[0] + k * kActivationChunk);  // R is 1: one line per two chunks
        WeightChunk wc[R];
        for (int j = 0; j < R; ++j) wc[j] = LoadInt8Chunk(k < whole ? rp[j] + k * 32 : padded[j]);
        for (int t = 0; t < T; ++t) {
          const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[t].q + k * kActivationChunk));
          const __m256 xs = _mm256_broadcast_ss(xq[t].scales + k);
          for (int j = 0; j < R; ++j)
            sum[t][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(DotInt8Chunk(wc[j], xv)), xs, sum[t][j]);
        }
      }
      for (int j = 0; j < R; ++j) {
        const float ws = DecodeF16(sp[j][g]);
        for (int t = 0; t < T; ++t) total[t][j] = _mm256_fmadd_ps(sum[t][j], _mm256_set1_ps(ws), total[t][j]);
      }
    }
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < rows; ++j) y[t * ldy + (rq - r0) + j] = simd::HorizontalSum(total[t][j]);
  }
}

#if defined(GLM_OPS_ISA_AVX512)
#pragma GCC diagnostic push
// GCC 12's AVX-512 headers fill the "undefined" lanes of unmasked intrinsics from a self-initialised variable, which
// -Wmaybe-uninitialized reports under -Werror; the lanes used are fully written, so the warning is off here.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// [s[0] x8 | s[1] x8]: the activation scales of a 64-column step's two 32-column chunks, over its 16 int32 lanes.
inline __m512 PairScales(const float* s) {
  const __m512i index = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m128 both = _mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(s)));
  return _mm512_permutexvar_ps(index, _mm512_castps128_ps512(both));
}

// lane_sums[t * lanes + l] = -128 * sum of token t's q over columns 4l..4l+3, lanes = QuantizedColumns(cols) / 4:
// what ProjectRowsInt8Group32's unsigned weights (q + 128) add to each int32 lane of the byte dot product.
void Int8LaneSums(const QuantizedRow* xq, int64_t n, int64_t cols, int32_t* lane_sums) {
  const int64_t padded = QuantizedColumns(cols), lanes = padded / 4;
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80)), zero = _mm512_setzero_si512();
  for (int64_t t = 0; t < n; ++t)
    for (int64_t b = 0; b < padded; b += 64) {
      const __m512i sum = _mm512_dpbusd_epi32(zero, bias, _mm512_loadu_si512(xq[t].q + b));
      _mm512_storeu_si512(lane_sums + t * lanes + b / 4, _mm512_sub_epi32(zero, sum));
    }
}

// int8 on AVX-512 with weight groups of a multiple of 64 columns: as ProjectRowsInt8, 64 columns per step in one
// 512-bit register (half the loop and load work per byte; the 256-bit step's per-chunk bookkeeping was most of the
// decode time once prefetching kept the weights coming). The weights' signs move onto the activations with a mask
// (AVX-512 has no 512-bit vpsignb): measured a little faster here at GLM-5.2 widths than ProjectRowsInt8Group32's
// unsigned weights, whose lane sums are one more 64-byte load per step and token. The last step of a row whose width
// is not a multiple of 64 loads its bytes under a mask (zeros past the row, and no read there), the activations being
// zero-padded. Per step the 16 int32 lanes hold the two chunks' sums (8 lanes each), scaled by PairScales; per group
// the float sums times the group's weight scale go to one of two totals (alternating groups: two independent chains).
template <int T>
void ProjectRowsInt8Wide(const WeightMatrix& w, int64_t r0, int64_t r1, const QuantizedRow* xq, float* y,
                         int64_t ldy) {
  const int64_t steps = (w.cols + 63) / 64, whole = w.cols / 64;  // steps that hold columns; whole ones
  const __mmask64 tail = (uint64_t{1} << (w.cols % 64)) - 1;
  const int64_t steps_per_group = w.quant_block / 64;
  const uint16_t* scales = static_cast<const uint16_t*>(w.scales);
  const __m512i zero = _mm512_setzero_si512();
  const ItemPrefetch prefetch(w, r0, r1, 1);
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = static_cast<const uint8_t*>(w.data) + r * w.row_bytes;
    const uint16_t* sp = scales + r * w.scale_cols;
    __m512 total[T][2];
    for (int t = 0; t < T; ++t) total[t][0] = total[t][1] = _mm512_setzero_ps();
    for (int64_t s0 = 0, g = 0; s0 < steps; s0 += steps_per_group, ++g) {
      const int64_t s1 = Min(s0 + steps_per_group, steps);
      __m512 sum[T];
      for (int t = 0; t < T; ++t) sum[t] = _mm512_setzero_ps();
      for (int64_t step = s0; step < s1; ++step) {
        prefetch.At(row + step * 64);
        const __m512i wv = step < whole ? _mm512_loadu_si512(row + step * 64)
                                        : _mm512_maskz_loadu_epi8(tail, row + step * 64);
        const __mmask64 negative = _mm512_movepi8_mask(wv);
        const __m512i magnitude = _mm512_abs_epi8(wv);  // -128 gives 0x80, i.e. 128 unsigned: still exact
        for (int t = 0; t < T; ++t) {
          const __m512i x = _mm512_loadu_si512(xq[t].q + step * 64);
          const __m512i dot = _mm512_dpbusd_epi32(zero, magnitude, _mm512_mask_sub_epi8(x, negative, zero, x));
          sum[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), PairScales(xq[t].scales + 2 * step), sum[t]);
        }
      }
      const __m512 ws = _mm512_set1_ps(DecodeF16(sp[g]));
      for (int t = 0; t < T; ++t) {  // into total[t][0], then swapped: constant indices keep the totals in registers
        const __m512 latest = _mm512_fmadd_ps(sum[t], ws, total[t][0]);
        total[t][0] = total[t][1];
        total[t][1] = latest;
      }
    }
    for (int t = 0; t < T; ++t) y[t * ldy + (r - r0)] = _mm512_reduce_add_ps(_mm512_add_ps(total[t][0], total[t][1]));
  }
}

// int8 on AVX-512 with weight groups of 32 columns (the small artifacts'): 64 columns per step as ProjectRowsInt8Wide,
// but the weights are made unsigned with one xor per step (q + 128) and the 128 x activations this adds leave in
// int32, each token's dot product starting from its lane sums (Int8LaneSums): no sign handling per token. A group is
// a chunk, so there is no per-group sum: each step's two chunk sums go straight to a total, times [x scale * w scale
// of chunk 0 x8 | of chunk 1 x8]. Two steps per iteration share one load of four float16 weight scales and four
// activation scales per token, multiplied in 128 bits before they are spread over the lanes (the generic step spent
// most of its time on that bookkeeping, one group per step); a row whose last group lies in an odd step ends with
// one more step. Scales past the row's last group are masked off (read as 0, against zero activations).
template <int T>
void ProjectRowsInt8Group32(const WeightMatrix& w, int64_t r0, int64_t r1, const QuantizedRow* xq,
                            const int32_t* lane_sums, int64_t lanes, float* y, int64_t ldy) {
  const int64_t steps = (w.cols + 63) / 64, whole = w.cols / 64;  // steps that hold columns; whole ones
  const __mmask64 tail = (uint64_t{1} << (w.cols % 64)) - 1;
  const uint16_t* scales = static_cast<const uint16_t*>(w.scales);
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
  const __m512i first_pair = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m512i second_pair = _mm512_set_epi32(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2);
  const ItemPrefetch prefetch(w, r0, r1, 1);
  auto weights = [&](const uint8_t* row, int64_t step) {
    prefetch.At(row + step * 64);
    const __m512i wv = step < whole ? _mm512_loadu_si512(row + step * 64)
                                    : _mm512_maskz_loadu_epi8(tail, row + step * 64);
    return _mm512_xor_si512(wv, bias);  // q + 128; past the row 128, against zeros
  };
  auto weight_scales = [&](const uint16_t* sp, int64_t step) {  // the chunks of steps `step` and `step + 1`
    const int64_t left = w.scale_cols - 2 * step;
    const __mmask8 valid = left >= 4 ? 0xF : static_cast<__mmask8>((1u << left) - 1);
    return _mm_cvtph_ps(_mm_maskz_loadu_epi16(valid, sp + 2 * step));
  };
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = static_cast<const uint8_t*>(w.data) + r * w.row_bytes;
    const uint16_t* sp = scales + r * w.scale_cols;
    __m512 total[T][2];
    for (int t = 0; t < T; ++t) total[t][0] = total[t][1] = _mm512_setzero_ps();
    int64_t step = 0;
    for (; step + 2 <= steps; step += 2) {
      const __m512i u0 = weights(row, step), u1 = weights(row, step + 1);
      const __m128 ws = weight_scales(sp, step);
      for (int t = 0; t < T; ++t) {
        const __m512 both = _mm512_castps128_ps512(_mm_mul_ps(_mm_loadu_ps(xq[t].scales + 2 * step), ws));
        const int32_t* seed = lane_sums + t * lanes + step * 16;
        const __m512i d0 = _mm512_dpbusd_epi32(_mm512_loadu_si512(seed), u0, _mm512_loadu_si512(xq[t].q + step * 64));
        const __m512i d1 =
            _mm512_dpbusd_epi32(_mm512_loadu_si512(seed + 16), u1, _mm512_loadu_si512(xq[t].q + step * 64 + 64));
        total[t][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d0), _mm512_permutexvar_ps(first_pair, both), total[t][0]);
        total[t][1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d1), _mm512_permutexvar_ps(second_pair, both), total[t][1]);
      }
    }
    if (step < steps) {  // the last, odd step (the activations' scales are padded, so four may be read)
      const __m512i u0 = weights(row, step);
      const __m128 ws = weight_scales(sp, step);
      for (int t = 0; t < T; ++t) {
        const __m512 both = _mm512_castps128_ps512(_mm_mul_ps(_mm_loadu_ps(xq[t].scales + 2 * step), ws));
        const __m512i d0 = _mm512_dpbusd_epi32(_mm512_loadu_si512(lane_sums + t * lanes + step * 16), u0,
                                               _mm512_loadu_si512(xq[t].q + step * 64));
        total[t][0] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d0), _mm512_permutexvar_ps(first_pair, both), total[t][0]);
      }
    }
    for (int t = 0; t < T; ++t) y[t * ldy + (r - r0)] = _mm512_reduce_add_ps(_mm512_add_ps(total[t][0], total[t][1]));
  }
}
#pragma GCC diagnostic pop
#endif

// int8 rows for T tokens: the 512-bit step where it applies, else the 256-bit one.
template <int T>
void ProjectRowsInt8Any(const WeightMatrix& w, int64_t r0, int64_t r1, const QuantizedRow* xq,
                        const int32_t* lane_sums, int64_t lanes, float* y, int64_t ldy) {
#if defined(GLM_OPS_ISA_AVX512)
  if (w.quant_block % 64 == 0) return ProjectRowsInt8Wide<T>(w, r0, r1, xq, y, ldy);
  if (w.quant_block == 32) return ProjectRowsInt8Group32<T>(w, r0, r1, xq, lane_sums, lanes, y, ldy);
#else
  (void)lane_sums;
  (void)lanes;
#endif
  ProjectRowsInt8<T>(w, r0, r1, xq, y, ldy);
}

// int4. Low nibbles hold the even columns and high nibbles the odd ones, so QuantizeRow stores each 128-column block
// of activations as its 64 even columns, then its 64 odd ones: a 64-byte load of weights (one 128-column step) dots
// its low nibbles against the block's first half and its high nibbles against its second (a 32-byte half-step:
// against the matching 32-byte quarters). The stored nibbles are q + 8, dotted unsigned as they are; the +8 leaves
// in int32: each step's accumulator starts from the token's lane sums, -8 x the sum of its q over the 8 columns an
// int32 lane of the byte dot product covers (4 even, 4 odd), so the lanes come out as the exact signed dot
// products. Lane l covers columns 8l..8l+7, so 32-column chunk k is lanes 4k..4k+3: each lane's float is times its
// chunk's activation scale and its group's weight scale (groups of whole steps: summed over the group in float,
// then times the group's scale once; smaller or straddling groups: a scale per lane).

// lane_sums[t * lanes + l] = -8 * sum of token t's q over columns 8l..8l+7, lanes = QuantizedColumns(cols) / 8.
void Int4LaneSums(const QuantizedRow* xq, int64_t n, int64_t cols, int32_t* lane_sums) {
  const int64_t padded = QuantizedColumns(cols), lanes = padded / 8;
  for (int64_t t = 0; t < n; ++t)
    for (int64_t b = 0; b < padded; b += 128) {
#if defined(GLM_OPS_ISA_AVX512)
      const __m512i eight = _mm512_set1_epi8(8), zero = _mm512_setzero_si512();
      const __m512i even = _mm512_loadu_si512(xq[t].q + b), odd = _mm512_loadu_si512(xq[t].q + b + 64);
      const __m512i sum = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, eight, even), eight, odd);
      _mm512_storeu_si512(lane_sums + t * lanes + b / 8, _mm512_sub_epi32(zero, sum));
#else
      const __m256i eight = _mm256_set1_epi8(8), ones = _mm256_set1_epi16(1);
      for (int64_t h = 0; h < 2; ++h) {
        const __m256i even = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[t].q + b + 32 * h));
        const __m256i odd = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[t].q + b + 64 + 32 * h));
        // 8 * (x + x') per 16-bit pair: at most 2032, no saturation.
        const __m256i pairs = _mm256_add_epi16(_mm256_maddubs_epi16(eight, even), _mm256_maddubs_epi16(eight, odd));
        const __m256i sum = _mm256_madd_epi16(pairs, ones);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(lane_sums + t * lanes + b / 8 + 8 * h),
                            _mm256_sub_epi32(_mm256_setzero_si256(), sum));
      }
#endif
    }
}

// 32 bytes of int4 weights (64 columns) against their activations: 8 int32 lanes, seeded with the lane sums.
inline __m256i DotInt4Pair(const uint8_t* p, __m256i x_even, __m256i x_odd, __m256i seed) {
  const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const __m256i mask = _mm256_set1_epi8(0x0F);
  const __m256i low = _mm256_and_si256(packed, mask);
  const __m256i high = _mm256_and_si256(_mm256_srli_epi16(packed, 4), mask);
#if defined(GLM_OPS_ISA_AVX512)
  return _mm256_dpbusd_epi32(_mm256_dpbusd_epi32(seed, low, x_even), high, x_odd);
#else
  // Each product pair is at most 2 * 15 * 127, so the two 16-bit sums add without saturating.
  const __m256i pairs = _mm256_add_epi16(_mm256_maddubs_epi16(low, x_even), _mm256_maddubs_epi16(high, x_odd));
  return _mm256_add_epi32(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)), seed);
#endif
}

inline __m256 HalfBroadcast(float low, float high) {
  return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_set1_ps(low)), _mm_set1_ps(high), 1);
}

// The 256-bit kernel (AVX2): 64 columns (a half-step) per load, R rows side by side. Groups of a multiple of 64
// columns sum their half-steps in float; other groups (32, 96, ...: a half-step may straddle two) apply
// [w scale of chunk 0 x4 | w scale of chunk 1 x4] per half-step. The last half-step of a row whose bytes end inside
// it reads a zero-padded copy; half-steps past the row's columns are skipped (their activations are zero).
template <int T, bool kSmallGroups>
void ProjectRowsInt4(const WeightMatrix& w, int64_t r0, int64_t r1, const QuantizedRow* xq, const int32_t* lane_sums,
                     int64_t lanes, float* y, int64_t ldy) {
  constexpr int R = Int4Rows(T);
  const int64_t groups = w.scale_cols;
  const int64_t whole = w.row_bytes / 32;    // half-steps whose 32 bytes lie inside the row
  const int64_t pairs = (w.cols + 63) / 64;  // half-steps that hold columns of the row
  const int64_t pairs_per_group = kSmallGroups ? 1 : w.quant_block / 64;
  const uint16_t* scales = static_cast<const uint16_t*>(w.scales);
  const ItemPrefetch prefetch(w, r0, r1, R);
  for (int64_t rq = r0; rq < r1; rq += R) {
    const int rows = static_cast<int>(Min<int64_t>(R, r1 - rq));
    const uint8_t* rp[R];
    const uint16_t* sp[R];
    alignas(32) uint8_t padded[R][32];
    for (int j = 0; j < R; ++j) {
      const int64_t r = rq + Min(j, rows - 1);
      rp[j] = static_cast<const uint8_t*>(w.data) + r * w.row_bytes;
      sp[j] = scales + r * groups;
      if (whole < pairs) {
        std::memset(padded[j], 0, sizeof padded[j]);
        std::memcpy(padded[j], rp[j] + whole * 32, static_cast<size_t>(w.row_bytes - whole * 32));
      }
    }
    __m256 total[T][R];
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < R; ++j) total[t][j] = _mm256_setzero_ps();
    for (int64_t p0 = 0; p0 < pairs; p0 += pairs_per_group) {
      const int64_t p1 = Min(p0 + pairs_per_group, pairs);
      __m256 sum[T][R];
      for (int t = 0; t < T; ++t)
        for (int j = 0; j < R; ++j) sum[t][j] = _mm256_setzero_ps();
      for (int64_t p = p0; p < p1; ++p) {
        __m256 wsv[R];
        if constexpr (kSmallGroups) {
          // The half-step's two chunks may lie in different groups (G an odd multiple of 32); a padding chunk past
          // the last group contributes zeros whatever its scale.
          const int64_t g0 = 2 * p * kActivationChunk / w.quant_block;
          const int64_t g1 = Min((2 * p + 1) * kActivationChunk / w.quant_block, groups - 1);
          for (int j = 0; j < R; ++j) wsv[j] = HalfBroadcast(DecodeF16(sp[j][g0]), DecodeF16(sp[j][g1]));
        }
        if ((p & 1) == 0)  // one line per two half-steps
          for (int j = 0; j < R; ++j) prefetch.At(rp[j] + p * 32);
        const uint8_t* bytes[R];
        for (int j = 0; j < R; ++j) bytes[j] = p < whole ? rp[j] + p * 32 : padded[j];
        for (int t = 0; t < T; ++t) {
          const int8_t* xp = xq[t].q + (p / 2) * 128 + (p & 1) * 32;
          const __m256i even = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xp));
          const __m256i odd = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xp + 64));
          const __m256i seed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lane_sums + t * lanes + 8 * p));
          const __m256 xs = HalfBroadcast(xq[t].scales[2 * p], xq[t].scales[2 * p + 1]);
          for (int j = 0; j < R; ++j) {
            const __m256 dot = _mm256_mul_ps(_mm256_cvtepi32_ps(DotInt4Pair(bytes[j], even, odd, seed)), xs);
            if constexpr (kSmallGroups)
              total[t][j] = _mm256_fmadd_ps(dot, wsv[j], total[t][j]);
            else
              sum[t][j] = _mm256_add_ps(dot, sum[t][j]);
          }
        }
      }
      if constexpr (!kSmallGroups) {
        const int64_t g = p0 / pairs_per_group;
        for (int j = 0; j < R; ++j) {
          const __m256 ws = _mm256_set1_ps(DecodeF16(sp[j][g]));
          for (int t = 0; t < T; ++t) total[t][j] = _mm256_fmadd_ps(sum[t][j], ws, total[t][j]);
        }
      }
    }
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < rows; ++j) y[t * ldy + (rq - r0) + j] = simd::HorizontalSum(total[t][j]);
  }
}

#if defined(GLM_OPS_ISA_AVX512)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // as for ProjectRowsInt8Wide
// One token, G 32: the whole steps four at a time from step 0 into total[R]; returns the first step not taken. A
// block's 16 chunks share one 32-byte load and one conversion of their float16 weight scales (per row) and one
// multiplication by the token's 16 chunk scales; each step then spreads its four chunks' products over its lanes
// (one permute per row), where the generic step loads, converts and spreads the weight scales and multiplies per
// row and step (as DenseProjection's one-token step, isa/dense_projection_int_kernels.cc).
template <int R>
int64_t Int4BlockedSteps(const uint8_t* const* rp, const uint16_t* const* sp, int64_t whole, const QuantizedRow& xq,
                         const int32_t* lane_sums, const ItemPrefetch& prefetch, __m512* total) {
  const int64_t blocks = whole / 4;
  const __m512i nibble = _mm512_set1_epi8(0x0F);
  const __m512i lane = _mm512_srli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 2);
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t s0 = 4 * b;
    const __m512 xs = _mm512_loadu_ps(xq.scales + 4 * s0);
    __m512 scale[R];
    for (int j = 0; j < R; ++j)
      scale[j] =
          _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sp[j] + 4 * s0))), xs);
#pragma GCC unroll 4
    for (int64_t k = 0; k < 4; ++k) {
      const int64_t s = s0 + k;
      const __m512i spread = _mm512_add_epi32(lane, _mm512_set1_epi32(static_cast<int>(4 * k)));
      const __m512i even = _mm512_loadu_si512(xq.q + s * 128), odd = _mm512_loadu_si512(xq.q + s * 128 + 64);
      const __m512i seed = _mm512_loadu_si512(lane_sums + s * 16);
      for (int j = 0; j < R; ++j) {
        prefetch.At(rp[j] + s * 64);
        __m512i packed = _mm512_loadu_si512(rp[j] + s * 64);
        __asm__("" : "+v"(packed));  // one load, not one per nibble operation
        const __m512i low = _mm512_and_si512(packed, nibble);
        const __m512i high = _mm512_and_si512(_mm512_srli_epi16(packed, 4), nibble);
        const __m512 dot = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(_mm512_dpbusd_epi32(seed, low, even), high, odd));
        total[j] = _mm512_fmadd_ps(dot, _mm512_permutexvar_ps(spread, scale[j]), total[j]);
      }
    }
  }
  return 4 * blocks;
}

// The 512-bit kernel (AVX-512 VNNI): one 128-column step per 64-byte load, R rows side by side; the last step of a
// row whose bytes end inside it loads them under a mask (zeros past the row, and no read there). Per token and step
// the four chunks' activation scales spread over their lanes once, shared by the rows. kWholeSteps: G a multiple
// of 128 (sums per group, one scale); else a weight scale per chunk, spread likewise (G 32: four float16 scales in
// one masked load).
template <int T, bool kWholeSteps>
void ProjectRowsInt4Wide(const WeightMatrix& w, int64_t r0, int64_t r1, const QuantizedRow* xq,
                         const int32_t* lane_sums, int64_t lanes, float* y, int64_t ldy) {
  constexpr int R = Int4Rows(T);
  const int64_t steps = (w.cols + 127) / 128;  // steps that hold columns of the row
  const int64_t whole = w.row_bytes / 64;      // steps whose 64 bytes lie inside the row
  const __mmask64 tail = (uint64_t{1} << (w.row_bytes % 64)) - 1;
  const int64_t steps_per_group = kWholeSteps ? w.quant_block / 128 : 1;
  const int64_t groups = w.scale_cols;
  const uint16_t* scales = static_cast<const uint16_t*>(w.scales);
  const __m512i nibble = _mm512_set1_epi8(0x0F);
  const __m512i chunk_of_lane = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
  const ItemPrefetch prefetch(w, r0, r1, R);
  for (int64_t rq = r0; rq < r1; rq += R) {
    const int rows = static_cast<int>(Min<int64_t>(R, r1 - rq));
    const uint8_t* rp[R];
    const uint16_t* sp[R];
    for (int j = 0; j < R; ++j) {
      const int64_t r = rq + Min(j, rows - 1);
      rp[j] = static_cast<const uint8_t*>(w.data) + r * w.row_bytes;
      sp[j] = scales + r * groups;
    }
    __m512 total[T][R];
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < R; ++j) total[t][j] = _mm512_setzero_ps();
    int64_t first = 0;
    if constexpr (T == 1 && !kWholeSteps) {
      if (w.quant_block == kActivationChunk) first = Int4BlockedSteps<R>(rp, sp, whole, xq[0], lane_sums, prefetch, total[0]);
    }
    for (int64_t s0 = first; s0 < steps; s0 += steps_per_group) {
      const int64_t s1 = Min(s0 + steps_per_group, steps);
      __m512 sum[T][R];
      for (int t = 0; t < T; ++t)
        for (int j = 0; j < R; ++j) sum[t][j] = _mm512_setzero_ps();
      for (int64_t s = s0; s < s1; ++s) {
        __m512 ws[R];
        if constexpr (!kWholeSteps) {
          for (int j = 0; j < R; ++j) {
            __m128 chunk_scales;
            if (w.quant_block == kActivationChunk) {
              // The step's four groups; past the row's last group, zeros (a padding chunk's dot product is 0).
              const int64_t left = groups - 4 * s;
              const __mmask8 valid = left >= 4 ? 0xF : static_cast<__mmask8>((1u << left) - 1);
              chunk_scales = _mm_cvtph_ps(_mm_maskz_loadu_epi16(valid, sp[j] + 4 * s));
            } else {
              float v[4];
              for (int k = 0; k < 4; ++k)
                v[k] = DecodeF16(sp[j][Min((4 * s + k) * kActivationChunk / w.quant_block, groups - 1)]);
              chunk_scales = _mm_loadu_ps(v);
            }
            ws[j] = _mm512_permutexvar_ps(chunk_of_lane, _mm512_castps128_ps512(chunk_scales));
          }
        }
        __m512i low[R], high[R];
        for (int j = 0; j < R; ++j) {
          prefetch.At(rp[j] + s * 64);
          const __m512i packed =
              s < whole ? _mm512_loadu_si512(rp[j] + s * 64) : _mm512_maskz_loadu_epi8(tail, rp[j] + s * 64);
          low[j] = _mm512_and_si512(packed, nibble);
          high[j] = _mm512_and_si512(_mm512_srli_epi16(packed, 4), nibble);
        }
        for (int t = 0; t < T; ++t) {
          const __m512i even = _mm512_loadu_si512(xq[t].q + s * 128);
          const __m512i odd = _mm512_loadu_si512(xq[t].q + s * 128 + 64);
          const __m512i seed = _mm512_loadu_si512(lane_sums + t * lanes + s * 16);
          const __m512 xs = _mm512_permutexvar_ps(chunk_of_lane, _mm512_castps128_ps512(_mm_loadu_ps(xq[t].scales + 4 * s)));
          for (int j = 0; j < R; ++j) {
            const __m512 dot =
                _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(_mm512_dpbusd_epi32(seed, low[j], even), high[j], odd));
            if constexpr (kWholeSteps)
              sum[t][j] = _mm512_fmadd_ps(dot, xs, sum[t][j]);
            else
              total[t][j] = _mm512_fmadd_ps(_mm512_mul_ps(dot, ws[j]), xs, total[t][j]);
          }
        }
      }
      if constexpr (kWholeSteps) {
        const int64_t g = s0 / steps_per_group;
        for (int j = 0; j < R; ++j) {
          const __m512 scale = _mm512_set1_ps(DecodeF16(sp[j][g]));
          for (int t = 0; t < T; ++t) total[t][j] = _mm512_fmadd_ps(sum[t][j], scale, total[t][j]);
        }
      }
    }
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < rows; ++j) y[t * ldy + (rq - r0) + j] = _mm512_reduce_add_ps(total[t][j]);
  }
}
#pragma GCC diagnostic pop
#endif

template <int T>
void ProjectRowsInt4Any(const WeightMatrix& w, int64_t r0, int64_t r1, const QuantizedRow* xq,
                        const int32_t* lane_sums, int64_t lanes, float* y, int64_t ldy) {
#if defined(GLM_OPS_ISA_AVX512)
  if (w.quant_block % 128 == 0) return ProjectRowsInt4Wide<T, true>(w, r0, r1, xq, lane_sums, lanes, y, ldy);
  return ProjectRowsInt4Wide<T, false>(w, r0, r1, xq, lane_sums, lanes, y, ldy);
#else
  if (w.quant_block % 64 == 0) return ProjectRowsInt4<T, false>(w, r0, r1, xq, lane_sums, lanes, y, ldy);
  ProjectRowsInt4<T, true>(w, r0, r1, xq, lane_sums, lanes, y, ldy);  // G an odd multiple of 32: per-chunk scales
#endif
}

// Next token block: 4 or 3 tokens, chosen so that the rest splits likewise; 1 or 2 only for what cannot (n = 1, 2,
// 5). The tile path's 12 accumulators; int8's integer blocks: a block of one token pays a row's weight loads for one
// token (a prefill puts ~8 tokens on an expert: 5 = 3 + 2 instead of 4 + 1, 9 = 3 + 3 + 3 instead of 4 + 4 + 1).
int64_t NextTokenBlock(int64_t remaining) {
  if (remaining <= 2) return remaining;
  if (remaining == 3 || remaining == 5 || remaining == 6 || remaining == 9) return 3;
  return 4;
}

// Blocks of up to four tokens; the first block streams the rows from memory, the later ones find them in L1/L2
// (an item's rows are at most 24 x ceil(cols) bytes). Every token's result is computed the same way whatever the
// block it falls in, so it does not depend on how many tokens share the expert.
void ProjectInteger(const WeightMatrix& w, int64_t r0, int64_t r1, const QuantizedRow* xq, int64_t n, float* y,
                    int64_t ldy, int32_t* lane_sums) {
  const bool int4 = w.format == ExpertWeightFormat::kInt4;
  // int4: per 8 columns (both ISAs); int8: per 4 columns, for the 512-bit G 32 loop (the others need none).
  const int64_t lanes = QuantizedColumns(w.cols) / (int4 ? 8 : 4);
  if (int4) Int4LaneSums(xq, n, w.cols, lane_sums);
#if defined(GLM_OPS_ISA_AVX512)
  if (!int4 && w.quant_block == 32) Int8LaneSums(xq, n, w.cols, lane_sums);
#endif
  // int8: balanced blocks (NextTokenBlock; measured ~5-25 % more per CPU-s at 5, 6 and 9 tokens, G 32, one
  // thread); int4: blocks of four, its one-token step reading four rows at once (balanced blocks measured no better).
  for (int64_t t0 = 0, size; t0 < n; t0 += size) {
    size = int4 ? Min<int64_t>(4, n - t0) : NextTokenBlock(n - t0);
    const QuantizedRow* x = xq + t0;
    const int32_t* sums = lane_sums + t0 * lanes;
    float* out = y + t0 * ldy;
    switch (size) {
      case 1:
        int4 ? ProjectRowsInt4Any<1>(w, r0, r1, x, sums, lanes, out, ldy)
             : ProjectRowsInt8Any<1>(w, r0, r1, x, sums, lanes, out, ldy);
        break;
      case 2:
        int4 ? ProjectRowsInt4Any<2>(w, r0, r1, x, sums, lanes, out, ldy)
             : ProjectRowsInt8Any<2>(w, r0, r1, x, sums, lanes, out, ldy);
        break;
      case 3:
        int4 ? ProjectRowsInt4Any<3>(w, r0, r1, x, sums, lanes, out, ldy)
             : ProjectRowsInt8Any<3>(w, r0, r1, x, sums, lanes, out, ldy);
        break;
      default:
        int4 ? ProjectRowsInt4Any<4>(w, r0, r1, x, sums, lanes, out, ldy)
             : ProjectRowsInt8Any<4>(w, r0, r1, x, sums, lanes, out, ldy);
        break;
    }
  }
}

// x[0..cols) -> q, scales per 32-column chunk (QuantizedRow). Returns false when x holds a NaN or infinity.
bool QuantizeRowImpl(bool int4_order, const float* x, int64_t cols, int8_t* q, float* scales) {
  const int64_t padded = QuantizedColumns(cols);
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  bool finite = true;
  for (int64_t c0 = 0, k = 0; c0 < padded; c0 += kActivationChunk, ++k) {
    const int64_t c1 = Max(c0, Min(cols, c0 + kActivationChunk));  // c0 past cols: an all-padding chunk
    __m256 vmax = _mm256_setzero_ps();
    int64_t c = c0;
    for (; c + 8 <= c1; c += 8) vmax = _mm256_max_ps(vmax, _mm256_andnot_ps(sign_mask, _mm256_loadu_ps(x + c)));
    float amax = simd::HorizontalMax(vmax);
    for (; c < c1; ++c) amax = Max(amax, std::fabs(x[c]));
    // max_ps drops NaNs (it returns the second operand): look for them explicitly. Such a row is never used by the
    // integer path (QuantizedRow::finite), so its chunk is simply zeroed.
    bool chunk_finite = std::isfinite(amax);
    for (c = c0; c < c1 && chunk_finite; ++c) chunk_finite = std::isfinite(x[c]);
    const float inverse = chunk_finite && amax > 0.0f ? 127.0f / amax : 0.0f;
    if (!chunk_finite) finite = false;
    scales[k] = chunk_finite ? amax / 127.0f : 0.0f;
    if (chunk_finite && c1 - c0 == kActivationChunk) {
      // A whole chunk in registers: cvtps rounds to nearest even (the default MXCSR mode, as nearbyint), and
      // |x| * 127 / max|x| rounds to at most 127.
      const __m256 scale = _mm256_set1_ps(inverse);
      __m256i v[4];
      for (int i = 0; i < 4; ++i) v[i] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + c0 + 8 * i), scale));
      // The packs interleave 128-bit halves: dwords [v0 lo, v1 lo, v2 lo, v3 lo, v0 hi, ...] back to column order.
      const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + c0),
                          _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
    } else {
      for (c = c0; c < c1; ++c) {
        const int32_t v =
            chunk_finite ? Min(Max(static_cast<int32_t>(std::nearbyint(x[c] * inverse)), -127), 127) : 0;
        q[c] = static_cast<int8_t>(v);
      }
      for (c = c1; c < c0 + kActivationChunk; ++c) q[c] = 0;
    }
  }
  if (int4_order) {
    // Each 128-column block: its 64 even columns, then its 64 odd ones (the int4 weights' low and high nibbles).
    for (int64_t c0 = 0; c0 < padded; c0 += 128) {
      int8_t block[128];
      for (int i = 0; i < 64; ++i) {
        block[i] = q[c0 + 2 * i];
        block[64 + i] = q[c0 + 2 * i + 1];
      }
      std::memcpy(q + c0, block, sizeof block);
    }
  }
  return finite;
}

// ---------------------------------------------------------------------------------------------------------------
// Decoded-tile path (many tokens, any format)

// Decodes columns [c0, c0 + count) of row r into dst as float32, scales applied. c0 is a multiple of the tile width
// and every 8-vector lies inside one scale block (quant_block is a multiple of 8).
void DecodeRowSegment(const WeightMatrix& w, int64_t r, int64_t c0, int64_t count, float* dst) {
  const int64_t count8 = count & ~int64_t{7};
  const uint8_t* row = static_cast<const uint8_t*>(w.data) + r * w.row_bytes;
  if (w.format == ExpertWeightFormat::kBFloat16) {
    const uint16_t* src = reinterpret_cast<const uint16_t*>(row) + c0;
    for (int64_t c = 0; c < count8; c += 8) _mm256_storeu_ps(dst + c, DecodeBf16x8(src + c));
    for (int64_t c = count8; c < count; ++c) dst[c] = DecodeBf16(src[c]);
    return;
  }
  if (w.format == ExpertWeightFormat::kInt8 || w.format == ExpertWeightFormat::kInt4) {
    const bool int4 = w.format == ExpertWeightFormat::kInt4;
    const uint16_t* scale_row = static_cast<const uint16_t*>(w.scales) + r * w.scale_cols;
    int64_t block = c0 / w.quant_block;
    for (int64_t c = 0; c < count; ++block) {
      const int64_t end = Min(count, (block + 1) * w.quant_block - c0);
      const float s = DecodeF16(scale_row[block]);
      const __m256 scale = _mm256_set1_ps(s);
      if (int4)
        for (; c + 8 <= end; c += 8) _mm256_storeu_ps(dst + c, DecodeInt4x8(row + (c0 + c) / 2, scale));
      else
        for (; c + 8 <= end; c += 8)
          _mm256_storeu_ps(dst + c, DecodeInt8x8(reinterpret_cast<const int8_t*>(row) + c0 + c, scale));
      for (; c < end; ++c)
        dst[c] = static_cast<float>(int4 ? DecodeInt4(row, c0 + c) : reinterpret_cast<const int8_t*>(row)[c0 + c]) * s;
    }
    return;
  }
  const uint8_t* src = row + c0;
  const float* scale_row = static_cast<const float*>(w.scales) + (r / w.quant_block) * w.scale_cols;
  if (HasE4M3Nan(src, count)) {  // rare: the exact scalar decoder yields the NaNs
    for (int64_t c = 0; c < count; ++c) dst[c] = DecodeE4M3(src[c]) * scale_row[(c0 + c) / w.quant_block];
    return;
  }
  // Walk the segment one scale block at a time (no division per vector).
  int64_t block = c0 / w.quant_block;
  for (int64_t c = 0; c < count; ++block) {
    const int64_t end = Min(count, (block + 1) * w.quant_block - c0);
    const __m256 scale = _mm256_set1_ps(scale_row[block] * kE4M3HalfRescale);
    for (; c + 8 <= end; c += 8) _mm256_storeu_ps(dst + c, _mm256_mul_ps(DecodeE4M3x8Half(src + c), scale));
    for (; c < end; ++c) dst[c] = DecodeE4M3(src[c]) * scale_row[block];
  }
}

// The register-blocked micro-kernel: R tile rows x T tokens of 8-lane partial sums stay in ymm registers over
// count8 columns; per 8 columns it loads R weight and T activation vectors for R * T FMAs.
// partial[(t * kTileRows + j) * 8] holds the running sums of token t, row j.
template <int R, int T>
inline void TileKernel(const float* const* w, const float* const* x, int64_t count8, float* partial) {
  __m256 acc[T][R];
  for (int t = 0; t < T; ++t)
    for (int j = 0; j < R; ++j) acc[t][j] = _mm256_loadu_ps(partial + (t * kTileRows + j) * 8);
  for (int64_t c = 0; c < count8; c += 8) {
    __m256 xv[T];
    for (int t = 0; t < T; ++t) xv[t] = _mm256_loadu_ps(x[t] + c);
    for (int j = 0; j < R; ++j) {
      const __m256 wv = _mm256_loadu_ps(w[j] + c);
      for (int t = 0; t < T; ++t) acc[t][j] = _mm256_fmadd_ps(wv, xv[t], acc[t][j]);
    }
  }
  for (int t = 0; t < T; ++t)
    for (int j = 0; j < R; ++j) _mm256_storeu_ps(partial + (t * kTileRows + j) * 8, acc[t][j]);
}

// All kTileRows rows against one block of T tokens, 12 accumulators at a time.
template <int T>
void TileTokenBlock(const float* const* w, const float* const* x, int64_t count8, float* partial) {
  constexpr int R = kTileRows / T;
  static_assert(kTileRows % T == 0, "token blocks divide the tile rows");
  for (int j = 0; j < kTileRows; j += R) TileKernel<R, T>(w + j, x, count8, partial + j * 8);
}

// Several tokens: a kTileRows x kTileCols tile is decoded once into L1 and reused by every token block.
void ProjectTiled(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* x, int64_t n, float* y,
                  int64_t ldy, const TileScratch& s) {
  const bool f32 = w.format == ExpertWeightFormat::kFloat32;
  const float** xc = s.columns;
  for (int64_t rq = r0; rq < r1; rq += kTileRows) {
    const int rows = static_cast<int>(Min<int64_t>(kTileRows, r1 - rq));
    Zero(s.partial, n * kTileRows * 8);
    Zero(s.tail, n * kTileRows);
    for (int64_t c0 = 0; c0 < w.cols; c0 += kTileCols) {
      const int64_t count = Min(kTileCols, w.cols - c0);
      const int64_t count8 = count & ~int64_t{7};
      const float* wr[kTileRows];
      for (int j = 0; j < kTileRows; ++j) {
        if (j >= rows) {
          wr[j] = wr[rows - 1];  // short tiles repeat their last row; those results are dropped
        } else if (f32) {
          wr[j] = static_cast<const float*>(w.data) + (rq + j) * w.cols + c0;
        } else {
          float* dst = s.tile + j * kTileCols;
          DecodeRowSegment(w, rq + j, c0, count, dst);
          wr[j] = dst;
        }
      }
      // The next segment of this tile's rows: 12 short strided streams that the hardware prefetcher misses.
      if (!f32 && c0 + kTileCols < w.cols) {
        const int64_t begin = ColumnOffset(w.format, c0 + kTileCols);
        const int64_t end = Min(w.row_bytes, ColumnOffset(w.format, c0 + 2 * kTileCols));
        for (int j = 0; j < rows; ++j) {
          const uint8_t* next = static_cast<const uint8_t*>(w.data) + (rq + j) * w.row_bytes;
          for (int64_t b = begin; b < end; b += 64) _mm_prefetch(reinterpret_cast<const char*>(next + b), _MM_HINT_T0);
        }
      }
      for (int64_t t = 0; t < n; ++t) xc[t] = x[t] + c0;
      for (int64_t tb = 0, size; tb < n; tb += size) {
        size = NextTokenBlock(n - tb);
        float* partial = s.partial + tb * kTileRows * 8;
        switch (size) {
          case 1: TileTokenBlock<1>(wr, xc + tb, count8, partial); break;
          case 2: TileTokenBlock<2>(wr, xc + tb, count8, partial); break;
          case 3: TileTokenBlock<3>(wr, xc + tb, count8, partial); break;
          default: TileTokenBlock<4>(wr, xc + tb, count8, partial); break;
        }
      }
      for (int64_t c = count8; c < count; ++c)
        for (int64_t t = 0; t < n; ++t)
          for (int j = 0; j < kTileRows; ++j)  // std::fma: the same rounding as ProjectRowsSideBySide's tail
            s.tail[t * kTileRows + j] = std::fma(wr[j][c], xc[t][c], s.tail[t * kTileRows + j]);
    }
    for (int64_t t = 0; t < n; ++t)
      for (int j = 0; j < rows; ++j)
        y[t * ldy + (rq - r0) + j] =
            simd::HorizontalSum(_mm256_loadu_ps(s.partial + (t * kTileRows + j) * 8)) + s.tail[t * kTileRows + j];
  }
}

#if defined(GLM_OPS_ISA_AVX512)
constexpr ExpertKernels kTable{"avx512",        ProjectDirect,          ProjectInteger, ProjectTiled,
                               QuantizeRowImpl, ProjectBf16PairsAvx512, PairBf16Avx512};
#else
constexpr ExpertKernels kTable{"avx2", ProjectDirect, ProjectInteger, ProjectTiled, QuantizeRowImpl, nullptr, nullptr};
#endif

}  // namespace

#if defined(GLM_OPS_ISA_AVX512)
const ExpertKernels& ExpertKernelsAvx512() { return kTable; }
#else
const ExpertKernels& ExpertKernelsAvx2() { return kTable; }
#endif

}  // namespace glm_ops::cpu
