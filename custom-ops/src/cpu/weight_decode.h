// Weight element decoding for the expert kernels (bf16, float8 e4m3fn, int8 and int4 to float32), in registers.
// Internal to the kernels library (AVX2 + F16C + BMI2); the formats are described in docs/onnx-contract.md. In the
// ISA-tagged inline namespace of cpu/isa_tag.h, like cpu/simd.h.
#pragma once

#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "cpu/isa_tag.h"

namespace glm_ops::cpu {
inline namespace GLM_OPS_ISA_TAG {

inline float DecodeBf16(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof value);
  return value;
}

// e4m3fn: sign, 4 exponent bits (bias 7), 3 mantissa bits; no infinities; S.1111.111 is NaN. Exact, scalar: the
// reference the vector decoder is tested against, and the fallback for segments that hold NaN codes.
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

// The vector e4m3 decoder yields value * 2^-8; callers fold this factor back into their FP8 block scale.
constexpr float kE4M3HalfRescale = 256.0f;

// Eight e4m3fn values, times 2^-8, via float16: the 7 exponent+mantissa bits move to float16 bits 7..13 and the
// sign to bit 15, which makes a float16 of exactly value * 2^-8 (exponent bias 15 vs 7; e4m3 subnormals m/8 * 2^-6
// land on float16 subnormals m/8 * 2^-14), then F16C widens it exactly. Sign-extending the byte to 16 bits puts the
// sign in bits 8..15, so one shift by 7 and one mask (0xBF80) place everything. F16C converts float16 subnormals to
// normal float32 whatever MXCSR's DAZ/FTZ say. NaN codes come out as +-1.875 * 2^-8 (480 * 2^-8): callers look
// for them with E4M3NanScan / HasE4M3Nan and fall back to DecodeE4M3 or NaN results.
inline __m256 DecodeE4M3x8Half(const uint8_t* p) {
  const __m128i wide = _mm_cvtepi8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  const __m128i half = _mm_and_si128(_mm_slli_epi16(wide, 7), _mm_set1_epi16(static_cast<int16_t>(0xBF80)));
  return _mm256_cvtph_ps(half);
}

#if defined(GLM_OPS_ISA_AVX512)
// Sixteen e4m3fn values, times 2^-8: DecodeE4M3x8Half's widening, shift and mask at 16 lanes, one 16-lane float16
// conversion (AVX-512 kernel files only).
inline __m512 DecodeE4M3x16Half(const uint8_t* p) {
  const __m256i wide = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  const __m256i half = _mm256_and_si256(_mm256_slli_epi16(wide, 7), _mm256_set1_epi16(static_cast<int16_t>(0xBF80)));
  return _mm512_cvtph_ps(half);
}
#endif

// Finds e4m3fn NaN codes (0x7F, 0xFF) in bytes folded in as they stream past a decoder. Adding a byte to itself
// drops the sign, which turns the NaN codes into 0xFE, the largest possible sum: a running unsigned max is all the
// loop carries (two cheap ops per 32 bytes), and the question is asked once at the end.
class E4M3NanScan {
 public:
  void Add32(const uint8_t* p) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    top_ = _mm256_max_epu8(top_, _mm256_add_epi8(v, v));
  }
  void Add8(const uint8_t* p) {
    const __m256i v = _mm256_zextsi128_si256(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
    top_ = _mm256_max_epu8(top_, _mm256_add_epi8(v, v));
  }
  bool Found() const {
    return _mm256_movemask_epi8(_mm256_cmpeq_epi8(top_, _mm256_set1_epi8(static_cast<char>(0xFE)))) != 0;
  }

 private:
  __m256i top_ = _mm256_setzero_si256();
};

// Whether any of p[0..count) is an e4m3fn NaN code.
inline bool HasE4M3Nan(const uint8_t* p, int64_t count) {
  E4M3NanScan scan;
  int64_t i = 0;
  for (; i + 32 <= count; i += 32) scan.Add32(p + i);
  for (; i + 8 <= count; i += 8) scan.Add8(p + i);
  if (scan.Found()) return true;
  for (; i < count; ++i)
    if ((p[i] & 0x7F) == 0x7F) return true;
  return false;
}

// IEEE float16 bits to float32 (F16C; exact).
inline float DecodeF16(uint16_t bits) { return _cvtsh_ss(bits); }

// Eight int8 weights times their group scale.
inline __m256 DecodeInt8x8(const int8_t* p, __m256 scale) {
  const __m256i wide = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  return _mm256_mul_ps(_mm256_cvtepi32_ps(wide), scale);
}

// Eight int4 weights (columns 2j, 2j+1 in the low and high nibble of byte j, stored as q + 8) from four bytes, times
// their group scale. BMI2's pdep spreads the eight nibbles into eight bytes in column order.
inline __m256 DecodeInt4x8(const uint8_t* p, __m256 scale) {
  uint32_t packed;
  std::memcpy(&packed, p, sizeof packed);
  const uint64_t bytes = _pdep_u64(packed, 0x0F0F0F0F0F0F0F0FULL);
  const __m256i wide = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(static_cast<long long>(bytes)));
  return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(wide, _mm256_set1_epi32(8))), scale);
}

// Weight `c` of an int4 row, unscaled: q in [-8, 7].
inline int DecodeInt4(const uint8_t* row, int64_t c) {
  const uint8_t byte = row[c / 2];
  return ((c & 1) ? byte >> 4 : byte & 15) - 8;
}

}  // namespace GLM_OPS_ISA_TAG
}  // namespace glm_ops::cpu
