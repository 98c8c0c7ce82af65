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

// ---------------------------------------------------------------------------------------------------------------
// Register-decoded float path (float32, bf16, FP8)

// Rows of one register-decoded step for T tokens: 4 (up to 12 accumulators), 2 at four tokens, where 4 x 4
// accumulators spill (measured, 48 x 6144 matrix, one thread: bf16 45 -> 56 GFLOP/CPU-s, fp8 30 -> 35). Both
// divide every quant block (a multiple of 8), so a step's rows share one row of FP8 scales.
constexpr int DirectRows(int tokens) { return tokens >= 4 ? 2 : 4; }

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
  const int64_t segment = kFp8 ? w.quant_block : w.cols;
  const float* scales = static_cast<const float*>(w.scales);
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

// 32 weights of one row as the unsigned operand of the byte dot product and, for int8, the sign source.
// int8: |q| (0..127) and q itself; int4: the stored nibbles q + 8 (0..15), low nibbles (even columns) in the low
// 16 bytes and high nibbles (odd columns) in the high 16 bytes, matching QuantizeRow's int4 order.
struct WeightChunk {
  __m256i magnitude;
  __m256i sign;  // int8 only
};

template <ExpertWeightFormat F>
inline WeightChunk LoadChunk(const uint8_t* p) {
  if constexpr (F == ExpertWeightFormat::kInt8) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return {_mm256_sign_epi8(q, q), q};
  } else {
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i mask = _mm_set1_epi8(0x0F);
    const __m128i low = _mm_and_si128(packed, mask);
    const __m128i high = _mm_and_si128(_mm_srli_epi16(packed, 4), mask);
    return {_mm256_set_m128i(high, low), _mm256_setzero_si256()};
  }
}

// acc += per-lane sums of four adjacent byte products, weights times activations. The int8 weights' signs move
// onto the activations (|w| * sign(w) x): products stay within 2 * 127 * 127 per 16-bit pair, no saturation.
template <ExpertWeightFormat F>
inline __m256i DotChunk(__m256i acc, const WeightChunk& w, __m256i x) {
  const __m256i signed_x = F == ExpertWeightFormat::kInt8 ? _mm256_sign_epi8(x, w.sign) : x;
#if defined(GLM_OPS_ISA_AVX512)
  return _mm256_dpbusd_epi32(acc, w.magnitude, signed_x);
#else
  const __m256i pairs = _mm256_maddubs_epi16(w.magnitude, signed_x);
  return _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
#endif
}

// Rows per step: two, one at three and four tokens on AVX2, where 2 x 4 int32 accumulators plus as many float
// totals exceed its 16 vector registers (AVX-512 has 32).
constexpr int IntegerRows(int tokens) { return kAvx512 || tokens <= 2 ? 2 : 1; }

// T tokens (xq[0..T)) against rows [r0, r1). Per row and group: the int32 dot of the group's 32-column chunks,
// then total += dot * weight_scale * activation_scale (int4: dot - 8 * sum(q_x) first, for the +8 offset). The
// last chunk of a row whose width is not a multiple of 32 is copied into a zero-padded buffer (the activations are
// zero-padded there too), so no load reads past the row.
template <ExpertWeightFormat F, int T>
void ProjectRowsInteger(const WeightMatrix& w, int64_t r0, int64_t r1, const QuantizedRow* xq, float* y,
                        int64_t ldy) {
  constexpr int R = IntegerRows(T);
  constexpr bool kInt4 = F == ExpertWeightFormat::kInt4;
  constexpr int64_t kChunkBytes = kInt4 ? 16 : 32;
  const int64_t groups = w.scale_cols, group = w.quant_block;
  const int64_t whole = w.cols / kActivationChunk;  // chunks that lie inside the row
  const uint16_t* scales = static_cast<const uint16_t*>(w.scales);
  for (int64_t rq = r0; rq < r1; rq += R) {
    const int rows = static_cast<int>(Min<int64_t>(R, r1 - rq));
    const uint8_t* rp[R];
    const uint16_t* sp[R];
    alignas(32) uint8_t padded[R][32];
    for (int j = 0; j < R; ++j) {
      const int64_t r = rq + Min(j, rows - 1);
      rp[j] = static_cast<const uint8_t*>(w.data) + r * w.row_bytes;
      sp[j] = scales + r * groups;
      if (whole * kActivationChunk < w.cols) {
        const int64_t at = whole * kChunkBytes;
        std::memset(padded[j], 0, sizeof padded[j]);
        std::memcpy(padded[j], rp[j] + at, static_cast<size_t>(w.row_bytes - at));
      }
    }
    __m256 total[T][R];
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < R; ++j) total[t][j] = _mm256_setzero_ps();
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t k0 = g * group / kActivationChunk;
      const int64_t k1 = Min((g + 1) * group, QuantizedColumns(w.cols)) / kActivationChunk;
      __m256i acc[T][R];
      for (int t = 0; t < T; ++t)
        for (int j = 0; j < R; ++j) acc[t][j] = _mm256_setzero_si256();
      for (int64_t k = k0; k < k1; ++k) {
        WeightChunk wc[R];
        for (int j = 0; j < R; ++j) wc[j] = LoadChunk<F>(k < whole ? rp[j] + k * kChunkBytes : padded[j]);
        for (int t = 0; t < T; ++t) {
          const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[t].q + k * kActivationChunk));
          for (int j = 0; j < R; ++j) acc[t][j] = DotChunk<F>(acc[t][j], wc[j], xv);
        }
      }
      for (int j = 0; j < R; ++j) {
        const float ws = DecodeF16(sp[j][g]);
        for (int t = 0; t < T; ++t) {
          __m256i a = acc[t][j];
          if constexpr (kInt4) a = _mm256_sub_epi32(a, _mm256_zextsi128_si256(_mm_cvtsi32_si128(8 * xq[t].sums[g])));
          total[t][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a), _mm256_set1_ps(ws * xq[t].scales[g]), total[t][j]);
        }
      }
    }
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < rows; ++j) y[t * ldy + (rq - r0) + j] = simd::HorizontalSum(total[t][j]);
  }
}

// Blocks of up to four tokens; the first block streams the rows from memory, the later ones find them in L1/L2
// (an item's rows are at most 24 x ceil(cols) bytes).
template <ExpertWeightFormat F>
void ProjectIntegerAny(const WeightMatrix& w, int64_t r0, int64_t r1, const QuantizedRow* xq, int64_t n, float* y,
                       int64_t ldy) {
  for (int64_t t0 = 0; t0 < n; t0 += 4) {
    const int64_t size = Min<int64_t>(4, n - t0);
    switch (size) {
      case 1: ProjectRowsInteger<F, 1>(w, r0, r1, xq + t0, y + t0 * ldy, ldy); break;
      case 2: ProjectRowsInteger<F, 2>(w, r0, r1, xq + t0, y + t0 * ldy, ldy); break;
      case 3: ProjectRowsInteger<F, 3>(w, r0, r1, xq + t0, y + t0 * ldy, ldy); break;
      default: ProjectRowsInteger<F, 4>(w, r0, r1, xq + t0, y + t0 * ldy, ldy); break;
    }
  }
}

void ProjectInteger(const WeightMatrix& w, int64_t r0, int64_t r1, const QuantizedRow* xq, int64_t n, float* y,
                    int64_t ldy) {
  if (w.format == ExpertWeightFormat::kInt8) return ProjectIntegerAny<ExpertWeightFormat::kInt8>(w, r0, r1, xq, n, y, ldy);
  ProjectIntegerAny<ExpertWeightFormat::kInt4>(w, r0, r1, xq, n, y, ldy);
}

// x[0..cols) -> q, scales, sums (QuantizedRow). Returns false when x holds a NaN or infinity.
bool QuantizeRowImpl(bool int4_order, int64_t group, const float* x, int64_t cols, int8_t* q, float* scales,
                     int32_t* sums) {
  const int64_t padded = QuantizedColumns(cols);
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  bool finite = true;
  for (int64_t g0 = 0, g = 0; g0 < cols; g0 += group, ++g) {
    const int64_t g1 = Min(cols, g0 + group);
    __m256 vmax = _mm256_setzero_ps();
    int64_t c = g0;
    for (; c + 8 <= g1; c += 8) vmax = _mm256_max_ps(vmax, _mm256_andnot_ps(sign_mask, _mm256_loadu_ps(x + c)));
    float amax = simd::HorizontalMax(vmax);
    for (; c < g1; ++c) amax = Max(amax, std::fabs(x[c]));
    // max_ps drops NaNs (it returns the second operand): look for them explicitly. Such a row is never used by the
    // integer path (QuantizedRow::finite), so its group is simply zeroed.
    bool group_finite = std::isfinite(amax);
    for (c = g0; c < g1 && group_finite; ++c) group_finite = std::isfinite(x[c]);
    if (!group_finite) {
      finite = false;
      scales[g] = 0.0f;
      sums[g] = 0;
      for (c = g0; c < g1; ++c) q[c] = 0;
      continue;
    }
    const float scale = amax / 127.0f;
    const float inverse = amax > 0.0f ? 127.0f / amax : 0.0f;
    scales[g] = scale;
    int32_t sum = 0;
    for (c = g0; c < g1; ++c) {
      const int32_t v = Min(Max(static_cast<int32_t>(std::nearbyint(x[c] * inverse)), -127), 127);
      sum += v;
      q[c] = static_cast<int8_t>(v);
    }
    sums[g] = sum;
  }
  for (int64_t c = cols; c < padded; ++c) q[c] = 0;
  if (int4_order) {
    // Each 32-column chunk: even columns first, then odd ones (the int4 weights' low and high nibbles).
    for (int64_t c0 = 0; c0 < padded; c0 += kActivationChunk) {
      int8_t chunk[kActivationChunk];
      for (int i = 0; i < 16; ++i) {
        chunk[i] = q[c0 + 2 * i];
        chunk[16 + i] = q[c0 + 2 * i + 1];
      }
      std::memcpy(q + c0, chunk, sizeof chunk);
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

// Next token block: 4 or 3 tokens (12 accumulators), chosen so that the rest splits likewise; 1 or 2 only for
// what cannot (n = 1, 2, 5).
int64_t NextTokenBlock(int64_t remaining) {
  if (remaining <= 2) return remaining;
  if (remaining == 3 || remaining == 5 || remaining == 6 || remaining == 9) return 3;
  return 4;
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
          for (int j = 0; j < kTileRows; ++j) s.tail[t * kTileRows + j] += wr[j][c] * xc[t][c];
    }
    for (int64_t t = 0; t < n; ++t)
      for (int j = 0; j < rows; ++j)
        y[t * ldy + (rq - r0) + j] =
            simd::HorizontalSum(_mm256_loadu_ps(s.partial + (t * kTileRows + j) * 8)) + s.tail[t * kTileRows + j];
  }
}

constexpr ExpertKernels kTable{kAvx512 ? "avx512" : "avx2", ProjectDirect, ProjectInteger, ProjectTiled,
                               QuantizeRowImpl};

}  // namespace

#if defined(GLM_OPS_ISA_AVX512)
const ExpertKernels& ExpertKernelsAvx512() { return kTable; }
#else
const ExpertKernels& ExpertKernelsAvx2() { return kTable; }
#endif

}  // namespace glm_ops::cpu
