#include "cpu/expert_projection.h"

#include <algorithm>
#include <cmath>

#include "cpu/simd.h"
#include "cpu/weight_decode.h"

namespace glm_ops::cpu {

namespace {

int64_t ElementBytes(ExpertWeightFormat format) {
  return format == ExpertWeightFormat::kFloat32 ? 4 : format == ExpertWeightFormat::kBFloat16 ? 2 : 1;
}

}  // namespace

WeightMatrix WeightMatrix::Of(const MoeExpertsShape& s, const void* stacked, const float* stacked_scales,
                              int64_t expert, int64_t rows, int64_t cols) {
  const int64_t qb = s.quant_block_size;
  const int64_t scale_rows = (rows + qb - 1) / qb, scale_cols = (cols + qb - 1) / qb;
  return WeightMatrix{s.format,
                      static_cast<const uint8_t*>(stacked) + expert * rows * cols * ElementBytes(s.format),
                      stacked_scales ? stacked_scales + expert * scale_rows * scale_cols : nullptr,
                      rows,
                      cols,
                      qb,
                      scale_cols};
}

namespace {

// Rows of one register-decoded step for T tokens: 4 (up to 12 accumulators), 2 at four tokens, where 4 x 4
// accumulators spill (measured, 48 x 6144 matrix, one thread: bf16 45 -> 56 GFLOP/CPU-s, fp8 30 -> 35). Both
// divide every quant block (a multiple of 8), so a step's rows share one row of FP8 scales.
constexpr int DirectRows(int tokens) { return tokens >= 4 ? 2 : 4; }
constexpr int kTileRows = 12;       // rows of a decoded tile: 12 accumulators as 3 rows x 4 tokens or 4 x 3
constexpr int64_t kTileCols = 256;  // 12 x 256 floats = 12 KiB, in L1 next to 4 tokens' 4 KiB of activations
static_assert(kTileRows == kProjectionRowQuantum, "callers size row ranges by the tile");

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

// The decode-time path (few tokens on this expert): weights are decoded in registers and used at once by every
// token, so each weight byte is read once and never stored. FP8 dot products run per scale block and are scaled
// afterwards; rows holding an FP8 NaN code give NaN, as the dequantised product would.
template <ExpertWeightFormat F, int T>
void ProjectRowsDirect(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* x, float* y, int64_t ldy) {
  constexpr int R = DirectRows(T);
  constexpr bool kFp8 = F == ExpertWeightFormat::kFloat8E4M3;
  const int64_t element = ElementBytes(F);
  const int64_t segment = kFp8 ? w.quant_block : w.cols;
  for (int64_t rq = r0; rq < r1; rq += R) {
    const int rows = static_cast<int>(std::min<int64_t>(R, r1 - rq));
    const uint8_t* rp[R];
    for (int j = 0; j < R; ++j)
      rp[j] = static_cast<const uint8_t*>(w.data) + (rq + std::min(j, rows - 1)) * w.cols * element;
    __m256 total[T][R];
    float tail_total[T][R];
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < R; ++j) {
        total[t][j] = _mm256_setzero_ps();
        tail_total[t][j] = 0.0f;
      }
    E4M3NanScan nan_scan;  // FP8: NaN codes in the vector part (the scalar tails decode NaN exactly)
    // FP8: the group's rows share one row of scale blocks (rq is a multiple of R, which divides the quant block).
    const float* scale_row = kFp8 ? w.scales + (rq / w.quant_block) * w.scale_cols : nullptr;
    for (int64_t s0 = 0, block = 0; s0 < w.cols; s0 += segment, ++block) {
      const int64_t s1 = std::min(w.cols, s0 + segment);
      const int64_t s8 = s0 + ((s1 - s0) & ~int64_t{7});
      __m256 acc[T][R];
      float tail[T][R];
      for (int t = 0; t < T; ++t)
        for (int j = 0; j < R; ++j) {
          acc[t][j] = _mm256_setzero_ps();
          tail[t][j] = 0.0f;
        }
      auto step = [&](int64_t c) {
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
          for (int t = 0; t < T; ++t) tail[t][j] += wf * x[t][c];
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
    case 1: return ProjectRowsDirect<F, 1>(w, r0, r1, x, y, ldy);
    case 2: return ProjectRowsDirect<F, 2>(w, r0, r1, x, y, ldy);
    case 3: return ProjectRowsDirect<F, 3>(w, r0, r1, x, y, ldy);
    default: return ProjectRowsDirect<F, 4>(w, r0, r1, x, y, ldy);
  }
}

// Decodes columns [c0, c0 + count) of row r into dst as float32, FP8 block scales applied. c0 is a multiple of the
// quant block's factor 8, so every 8-vector lies inside one scale block.
void DecodeRowSegment(const WeightMatrix& w, int64_t r, int64_t c0, int64_t count, float* dst) {
  const int64_t count8 = count & ~int64_t{7};
  if (w.format == ExpertWeightFormat::kBFloat16) {
    const uint16_t* src = static_cast<const uint16_t*>(w.data) + r * w.cols + c0;
    for (int64_t c = 0; c < count8; c += 8) _mm256_storeu_ps(dst + c, DecodeBf16x8(src + c));
    for (int64_t c = count8; c < count; ++c) dst[c] = DecodeBf16(src[c]);
    return;
  }
  const uint8_t* src = static_cast<const uint8_t*>(w.data) + r * w.cols + c0;
  const float* scale_row = w.scales + (r / w.quant_block) * w.scale_cols;
  if (HasE4M3Nan(src, count)) {  // rare: the exact scalar decoder yields the NaNs
    for (int64_t c = 0; c < count; ++c) dst[c] = DecodeE4M3(src[c]) * scale_row[(c0 + c) / w.quant_block];
    return;
  }
  // Walk the segment one scale block at a time (no division per vector).
  int64_t block = c0 / w.quant_block;
  for (int64_t c = 0; c < count; ++block) {
    const int64_t end = std::min(count, (block + 1) * w.quant_block - c0);
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

// Next token block: 4 or 3 tokens (12 accumulators), chosen so that the rest splits likewise; 1 or 2 only for
// what cannot (n = 1, 2, 5).
int64_t NextTokenBlock(int64_t remaining) {
  if (remaining <= 2) return remaining;
  if (remaining == 3 || remaining == 5 || remaining == 6 || remaining == 9) return 3;
  return 4;
}

// Several tokens: a kTileRows x kTileCols tile is decoded once into L1 and reused by every token block.
void ProjectRowsTiled(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* x, int64_t n, float* y,
                      int64_t ldy, ProjectionScratch& s) {
  const bool f32 = w.format == ExpertWeightFormat::kFloat32;
  const int64_t element = ElementBytes(w.format);
  if (!f32) s.tile.resize(static_cast<size_t>(kTileRows * kTileCols));
  s.partial.resize(static_cast<size_t>(n * kTileRows * 8));
  s.tail.resize(static_cast<size_t>(n * kTileRows));
  std::vector<const float*>& xc = s.columns;
  xc.resize(static_cast<size_t>(n));
  for (int64_t rq = r0; rq < r1; rq += kTileRows) {
    const int rows = static_cast<int>(std::min<int64_t>(kTileRows, r1 - rq));
    std::fill(s.partial.begin(), s.partial.end(), 0.0f);
    std::fill(s.tail.begin(), s.tail.end(), 0.0f);
    for (int64_t c0 = 0; c0 < w.cols; c0 += kTileCols) {
      const int64_t count = std::min(kTileCols, w.cols - c0);
      const int64_t count8 = count & ~int64_t{7};
      const float* wr[kTileRows];
      for (int j = 0; j < kTileRows; ++j) {
        if (j >= rows) {
          wr[j] = wr[rows - 1];  // short tiles repeat their last row; those results are dropped
        } else if (f32) {
          wr[j] = static_cast<const float*>(w.data) + (rq + j) * w.cols + c0;
        } else {
          float* dst = s.tile.data() + j * kTileCols;
          DecodeRowSegment(w, rq + j, c0, count, dst);
          wr[j] = dst;
        }
      }
      // The next segment of this tile's rows: 12 short strided streams that the hardware prefetcher misses.
      if (!f32 && c0 + kTileCols < w.cols)
        for (int j = 0; j < rows; ++j) {
          const uint8_t* next = static_cast<const uint8_t*>(w.data) + ((rq + j) * w.cols + c0 + kTileCols) * element;
          for (int64_t b = 0; b < kTileCols * element; b += 64) _mm_prefetch(reinterpret_cast<const char*>(next + b), _MM_HINT_T0);
        }
      for (int64_t t = 0; t < n; ++t) xc[t] = x[t] + c0;
      for (int64_t tb = 0, size; tb < n; tb += size) {
        size = NextTokenBlock(n - tb);
        float* partial = s.partial.data() + tb * kTileRows * 8;
        switch (size) {
          case 1: TileTokenBlock<1>(wr, xc.data() + tb, count8, partial); break;
          case 2: TileTokenBlock<2>(wr, xc.data() + tb, count8, partial); break;
          case 3: TileTokenBlock<3>(wr, xc.data() + tb, count8, partial); break;
          default: TileTokenBlock<4>(wr, xc.data() + tb, count8, partial); break;
        }
      }
      for (int64_t c = count8; c < count; ++c)
        for (int64_t t = 0; t < n; ++t)
          for (int j = 0; j < kTileRows; ++j) s.tail[t * kTileRows + j] += wr[j][c] * xc[t][c];
    }
    for (int64_t t = 0; t < n; ++t)
      for (int j = 0; j < rows; ++j)
        y[t * ldy + (rq - r0) + j] =
            simd::HorizontalSum(_mm256_loadu_ps(s.partial.data() + (t * kTileRows + j) * 8)) + s.tail[t * kTileRows + j];
  }
}

}  // namespace

void ProjectRows(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* x, int64_t n, float* y,
                 int64_t ldy, ProjectionScratch& scratch) {
  if (n > kDirectMaxTokens) return ProjectRowsTiled(w, r0, r1, x, n, y, ldy, scratch);
  switch (w.format) {
    case ExpertWeightFormat::kFloat32:
      return ProjectRowsDirectAny<ExpertWeightFormat::kFloat32>(w, r0, r1, x, n, y, ldy);
    case ExpertWeightFormat::kBFloat16:
      return ProjectRowsDirectAny<ExpertWeightFormat::kBFloat16>(w, r0, r1, x, n, y, ldy);
    case ExpertWeightFormat::kFloat8E4M3:
      return ProjectRowsDirectAny<ExpertWeightFormat::kFloat8E4M3>(w, r0, r1, x, n, y, ldy);
  }
}

}  // namespace glm_ops::cpu
