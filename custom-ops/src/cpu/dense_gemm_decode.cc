#include "cpu/dense_gemm_decode.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "cpu/weight_decode.h"

namespace glm_ops::cpu {

void DecodeWeightRow(const DenseGemmKernels& k, const DenseProjectionShape& s, const DenseWeight& w, int64_t r,
                     int64_t c0, int64_t count, float* dst, bool bf16_pairs) {
  switch (s.format) {
    case ExpertWeightFormat::kFloat32:
      std::memcpy(dst, static_cast<const float*>(w.data) + r * s.in + c0, static_cast<size_t>(count) * sizeof(float));
      return;
    case ExpertWeightFormat::kBFloat16:
      return (bf16_pairs ? k.decode_bf16_pairs : k.decode_bf16)(static_cast<const uint16_t*>(w.data) + r * s.in + c0,
                                                                count, dst);
    case ExpertWeightFormat::kFloat8E4M3: {
      const uint8_t* src = static_cast<const uint8_t*>(w.data) + r * s.in + c0;
      const int64_t qb = s.quant_block_size;
      const float* scale_row = static_cast<const float*>(w.scales) + (r / qb) * s.ScaleCols();
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
    case ExpertWeightFormat::kInt8:
    case ExpertWeightFormat::kInt4: {
      // One float16 scale per row and group of qb columns; c0 and qb are multiples of 8, so each 8-vector lies in
      // one group (and starts on a whole int4 byte).
      const bool int4 = s.format == ExpertWeightFormat::kInt4;
      const uint8_t* row = static_cast<const uint8_t*>(w.data) + r * s.RowBytes();
      const uint16_t* scale_row = static_cast<const uint16_t*>(w.scales) + r * s.ScaleCols();
      const int64_t qb = s.quant_block_size;
      for (int64_t c = 0, group = c0 / qb; c < count; ++group) {
        const int64_t end = std::min(count, (group + 1) * qb - c0);
        const float scale = DecodeF16(scale_row[group]);
        const __m256 vscale = _mm256_set1_ps(scale);
        for (; c + 8 <= end; c += 8)
          _mm256_storeu_ps(dst + c, int4 ? DecodeInt4x8(row + (c0 + c) / 2, vscale)
                                         : DecodeInt8x8(reinterpret_cast<const int8_t*>(row) + c0 + c, vscale));
        for (; c < end; ++c)
          dst[c] = static_cast<float>(int4 ? DecodeInt4(row, c0 + c) : static_cast<int8_t>(row[c0 + c])) * scale;
      }
      return;
    }
  }
}

void TransposeTokens(const float* x, int64_t in, int64_t rows, int64_t block, float* out) {
  for (int64_t c = 0; c < in; ++c) {
    float* column = out + c * block;
    for (int64_t i = 0; i < rows; ++i) column[i] = x[i * in + c];
    for (int64_t i = rows; i < block; ++i) column[i] = 0.0f;
  }
}

}  // namespace glm_ops::cpu
