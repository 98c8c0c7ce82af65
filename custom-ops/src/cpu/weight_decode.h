// Weight element decoding for the expert kernels (bf16 and float8 e4m3fn to float32), in registers. Internal to
// the kernels library (AVX2); the formats are described in docs/onnx-contract.md.
#pragma once

#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>

namespace glm_ops::cpu {

inline float DecodeBf16(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof value);
  return value;
}

// e4m3fn: sign, 4 exponent bits (bias 7), 3 mantissa bits; no infinities; S.1111.111 is NaN.
inline float DecodeE4M3(uint8_t bits) {
  const int mag = bits & 0x7F;
  float value;
  if (mag == 0x7F)
    value = NAN;
  else if (mag < 8)
    value = std::ldexp(static_cast<float>(mag), -9);  // subnormal: m/8 * 2^-6
  else
    value = std::ldexp(1.0f + static_cast<float>(mag & 7) / 8.0f, (mag >> 3) - 7);
  return (bits & 0x80) ? -value : value;
}

// Eight bf16 values to float32 (exact: bf16 is the top half of a float32).
inline __m256 DecodeBf16x8(const uint16_t* p) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}

// Eight e4m3fn values to float32, exactly, without tables: a normal number's exponent and mantissa bits move to
// their float32 places and the exponent is rebased (+120); subnormals (exponent 0) are m * 2^-9; 0x7F is NaN.
// Integer-only for normals, so no reliance on float32 denormal support (ORT may set flush-to-zero).
inline __m256 DecodeE4M3x8(const uint8_t* p) {
  const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  const __m256i mag = _mm256_and_si256(v, _mm256_set1_epi32(0x7F));
  const __m256i sign = _mm256_slli_epi32(_mm256_and_si256(v, _mm256_set1_epi32(0x80)), 24);
  const __m256i normal = _mm256_add_epi32(_mm256_slli_epi32(mag, 20), _mm256_set1_epi32(120 << 23));
  const __m256 subnormal = _mm256_mul_ps(_mm256_cvtepi32_ps(mag), _mm256_set1_ps(1.0f / 512.0f));
  const __m256 is_subnormal = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(8), mag));
  const __m256 is_nan = _mm256_castsi256_ps(_mm256_cmpeq_epi32(mag, _mm256_set1_epi32(0x7F)));
  __m256 value = _mm256_blendv_ps(_mm256_castsi256_ps(normal), subnormal, is_subnormal);
  value = _mm256_blendv_ps(value, _mm256_set1_ps(NAN), is_nan);
  return _mm256_or_ps(value, _mm256_castsi256_ps(sign));
}

}  // namespace glm_ops::cpu
