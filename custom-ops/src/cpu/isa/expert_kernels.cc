// The hot expert-projection kernels, compiled once per instruction set (custom-ops/CMakeLists.txt): plain, for
// x86-64-v3 (AVX2), and with GLM_OPS_ISA_AVX512 and the AVX-512 F/BW/VL/VNNI/BF16 flags (int8 / int4 weights take
// DenseProjection's integer kernels instead, cpu/expert_projection.h). Each compilation exports its table (cpu/expert_kernels.h); nothing here is called
// except through a table, and everything else stays in an anonymous namespace (distinct per compilation).
#include <immintrin.h>

#include <cmath>

#include "cpu/expert_kernels.h"
#include "cpu/simd.h"
#include "cpu/weight_decode.h"

namespace glm_ops::cpu {

namespace {

// Local min/fill: a standard-library template instantiated here with AVX-512 enabled could be kept by the
// linker for callers elsewhere (cpu/expert_kernels.h).
template <typename T>
constexpr T Min(T a, T b) {
  return b < a ? b : a;
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
constexpr ExpertKernels kTable{"avx512", ProjectDirect, ProjectTiled, ProjectBf16PairsAvx512, PairBf16Avx512};
#else
constexpr ExpertKernels kTable{"avx2", ProjectDirect, ProjectTiled, nullptr, nullptr};
#endif

}  // namespace

#if defined(GLM_OPS_ISA_AVX512)
const ExpertKernels& ExpertKernelsAvx512() { return kTable; }
#else
const ExpertKernels& ExpertKernelsAvx2() { return kTable; }
#endif

}  // namespace glm_ops::cpu
