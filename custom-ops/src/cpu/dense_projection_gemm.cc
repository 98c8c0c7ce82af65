#include "cpu/dense_projection_gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/weight_decode.h"

namespace glm_ops::cpu {

namespace {

constexpr int kPanelRows = 16;      // output rows per panel: two 8-lane vectors
constexpr int64_t kChunk = 256;     // columns per packed panel: 256 x 16 floats = 16 KiB, in L1 beside the tokens
constexpr int kTokenBlock = 6;      // tokens per micro-kernel call: 6 x 2 = 12 accumulators of 16 ymm registers
static_assert(kChunk % 8 == 0, "chunks start on an 8-column boundary, so no vector straddles an FP8 scale block");

// Columns [c0, c0 + count) of weight row r as float32 into dst, FP8 block scales applied.
void DecodeRow(const DenseProjectionShape& s, const DenseWeight& w, int64_t r, int64_t c0, int64_t count, float* dst) {
  const int64_t count8 = count & ~int64_t{7};
  switch (s.format) {
    case ExpertWeightFormat::kFloat32:
      std::memcpy(dst, static_cast<const float*>(w.data) + r * s.in + c0, static_cast<size_t>(count) * sizeof(float));
      return;
    case ExpertWeightFormat::kBFloat16: {
      const uint16_t* src = static_cast<const uint16_t*>(w.data) + r * s.in + c0;
      for (int64_t c = 0; c < count8; c += 8) _mm256_storeu_ps(dst + c, DecodeBf16x8(src + c));
      for (int64_t c = count8; c < count; ++c) dst[c] = DecodeBf16(src[c]);
      return;
    }
    case ExpertWeightFormat::kFloat8E4M3: {
      const uint8_t* src = static_cast<const uint8_t*>(w.data) + r * s.in + c0;
      const int64_t qb = s.quant_block_size;
      const float* scale_row = w.scales + (r / qb) * s.ScaleCols();
      if (HasE4M3Nan(src, count)) {  // rare: the exact scalar decoder yields the NaNs
        for (int64_t c = 0; c < count; ++c) dst[c] = DecodeE4M3(src[c]) * scale_row[(c0 + c) / qb];
        return;
      }
      // One scale block at a time; the vector decoder's 2^-8 is folded into the scale.
      for (int64_t c = 0, block = c0 / qb; c < count; ++block) {
        const int64_t end = std::min(count, (block + 1) * qb - c0);
        const __m256 scale = _mm256_set1_ps(scale_row[block] * kE4M3HalfRescale);
        for (; c + 8 <= end; c += 8) _mm256_storeu_ps(dst + c, _mm256_mul_ps(DecodeE4M3x8Half(src + c), scale));
        for (; c < end; ++c) dst[c] = DecodeE4M3(src[c]) * scale_row[block];
      }
      return;
    }
  }
}

// Packs rows [n0, n0 + rows) x columns [c0, c0 + count) as packed[k * 16 + j] (column-major panel: one column's 16
// rows are two vectors); rows past `rows` are zero. `rows_buffer` holds 16 decoded rows of kChunk.
void PackPanel(const DenseProjectionShape& s, const DenseWeight& w, int64_t n0, int rows, int64_t c0, int64_t count,
               float* rows_buffer, float* packed) {
  for (int j = 0; j < rows; ++j) DecodeRow(s, w, n0 + j, c0, count, rows_buffer + j * kChunk);
  for (int j = rows; j < kPanelRows; ++j) std::fill(rows_buffer + j * kChunk, rows_buffer + j * kChunk + count, 0.0f);
  // 8 x 8 transposes: rows j0..j0+7 of columns k..k+7 become columns' halves.
  const int64_t count8 = count & ~int64_t{7};
  for (int j0 = 0; j0 < kPanelRows; j0 += 8) {
    for (int64_t k = 0; k < count8; k += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(rows_buffer + (j0 + i) * kChunk + k);
      const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
      const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
      const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
      const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
      const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
      const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
      const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
      const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
      const __m256 c[8] = {_mm256_permute2f128_ps(u0, u4, 0x20), _mm256_permute2f128_ps(u1, u5, 0x20),
                           _mm256_permute2f128_ps(u2, u6, 0x20), _mm256_permute2f128_ps(u3, u7, 0x20),
                           _mm256_permute2f128_ps(u0, u4, 0x31), _mm256_permute2f128_ps(u1, u5, 0x31),
                           _mm256_permute2f128_ps(u2, u6, 0x31), _mm256_permute2f128_ps(u3, u7, 0x31)};
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(packed + (k + i) * kPanelRows + j0, c[i]);
    }
    for (int64_t k = count8; k < count; ++k)
      for (int i = 0; i < 8; ++i) packed[k * kPanelRows + j0 + i] = rows_buffer[(j0 + i) * kChunk + k];
  }
}

// acc[t][0..16) += sum_k packed[k][0..16) * x[t * ldx + k], T tokens, the 16-row panel's running sums in `acc`.
template <int T>
inline void MicroKernel(const float* packed, int64_t count, const float* x, int64_t ldx, float* acc) {
  __m256 a[T][2];
  for (int t = 0; t < T; ++t) {
    a[t][0] = _mm256_loadu_ps(acc + t * kPanelRows);
    a[t][1] = _mm256_loadu_ps(acc + t * kPanelRows + 8);
  }
  for (int64_t k = 0; k < count; ++k) {
    const __m256 w0 = _mm256_loadu_ps(packed + k * kPanelRows), w1 = _mm256_loadu_ps(packed + k * kPanelRows + 8);
    for (int t = 0; t < T; ++t) {
      const __m256 xv = _mm256_broadcast_ss(x + t * ldx + k);
      a[t][0] = _mm256_fmadd_ps(w0, xv, a[t][0]);
      a[t][1] = _mm256_fmadd_ps(w1, xv, a[t][1]);
    }
  }
  for (int t = 0; t < T; ++t) {
    _mm256_storeu_ps(acc + t * kPanelRows, a[t][0]);
    _mm256_storeu_ps(acc + t * kPanelRows + 8, a[t][1]);
  }
}

void TokenTail(int tokens, const float* packed, int64_t count, const float* x, int64_t ldx, float* acc) {
  switch (tokens) {
    case 1: return MicroKernel<1>(packed, count, x, ldx, acc);
    case 2: return MicroKernel<2>(packed, count, x, ldx, acc);
    case 3: return MicroKernel<3>(packed, count, x, ldx, acc);
    case 4: return MicroKernel<4>(packed, count, x, ldx, acc);
    default: return MicroKernel<5>(packed, count, x, ldx, acc);
  }
}

}  // namespace

bool DenseGemmDecodes(ExpertWeightFormat format) {
  switch (format) {
    case ExpertWeightFormat::kFloat32:
    case ExpertWeightFormat::kBFloat16:
    case ExpertWeightFormat::kFloat8E4M3: return true;
    default: return false;
  }
}

void DenseProjectionGemm(const Parallel& parallel, const DenseProjectionShape& s, const float* x, const DenseWeight& w,
                         float* y) {
  const int64_t panels = (s.out + kPanelRows - 1) / kPanelRows;
  parallel.For(panels, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> rows_buffer, packed, acc;
    rows_buffer.resize(static_cast<size_t>(kPanelRows * kChunk));
    packed.resize(static_cast<size_t>(kPanelRows * kChunk));
    acc.resize(static_cast<size_t>(s.tokens * kPanelRows));
    for (int64_t p = begin; p < end; ++p) {
      const int64_t n0 = p * kPanelRows;
      const int rows = static_cast<int>(std::min<int64_t>(kPanelRows, s.out - n0));
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t c0 = 0; c0 < s.in; c0 += kChunk) {
        const int64_t count = std::min(kChunk, s.in - c0);
        PackPanel(s, w, n0, rows, c0, count, rows_buffer.data(), packed.data());
        int64_t t = 0;
        for (; t + kTokenBlock <= s.tokens; t += kTokenBlock)
          MicroKernel<kTokenBlock>(packed.data(), count, x + t * s.in + c0, s.in, acc.data() + t * kPanelRows);
        if (t < s.tokens)
          TokenTail(static_cast<int>(s.tokens - t), packed.data(), count, x + t * s.in + c0, s.in,
                    acc.data() + t * kPanelRows);
      }
      for (int64_t t = 0; t < s.tokens; ++t)
        std::memcpy(y + t * s.out + n0, acc.data() + t * kPanelRows, static_cast<size_t>(rows) * sizeof(float));
    }
  });
}

}  // namespace glm_ops::cpu
