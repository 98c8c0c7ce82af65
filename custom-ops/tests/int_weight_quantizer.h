// The contract's int8/int4 weight quantization (docs/onnx-contract.md, MoeExperts), written independently of the
// converter's C# quantizer for the kernel tests: per row and group of G columns, scale = max|w| / 127 (int8) or
// max|w| / 7 (int4) rounded to float16 (nearest even), q = round(w / scale) half away from zero against that
// float16 scale, clamped to [-127, 127] or [-8, 7]; an all-zero group has scale 0 and q 0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "reference/weight_decode.h"

namespace glm_ops::test {

// float -> IEEE float16 bits, round to nearest even, for finite values in float16 range (what scales are).
inline uint16_t ToHalf(float value) {
  const uint16_t sign = std::signbit(value) ? 0x8000 : 0;
  const double a = std::fabs(static_cast<double>(value));
  if (a == 0.0) return sign;
  int exponent = static_cast<int>(std::floor(std::log2(a)));
  if (exponent < -14) exponent = -14;  // subnormal range: quantum 2^-24
  const double quantum = std::ldexp(1.0, exponent - 10);
  const double r = std::nearbyint(a / quantum);  // the default rounding mode: to nearest, ties to even
  const uint32_t units = static_cast<uint32_t>(r);
  // A normal value has units in [1024, 2048]; 2048 carries into the next exponent, which the sum encodes.
  const uint32_t bits = units < 1024 ? units : ((static_cast<uint32_t>(exponent + 15) << 10) + (units - 1024));
  return static_cast<uint16_t>(sign | (bits >= 0x7C00 ? 0x7C00 : bits));
}

inline int RoundHalfAway(double v) { return static_cast<int>(v < 0 ? -std::floor(-v + 0.5) : std::floor(v + 0.5)); }

struct QuantizedMatrix {
  std::vector<int8_t> int8;      // [rows, cols]
  std::vector<uint8_t> int4;     // [rows, ceil(cols/2)]
  std::vector<uint16_t> scales;  // [rows, ceil(cols/G)]
};

// Quantizes w [rows, cols] to int8 (int4 false) or int4 with groups of g columns.
inline QuantizedMatrix QuantizeWeights(const std::vector<float>& w, int64_t rows, int64_t cols, int64_t g,
                                       bool int4) {
  QuantizedMatrix out;
  const int64_t groups = (cols + g - 1) / g, row_bytes = (cols + 1) / 2;
  out.scales.assign(static_cast<size_t>(rows * groups), 0);
  if (int4)
    out.int4.assign(static_cast<size_t>(rows * row_bytes), 0x88);  // q = 0 in both nibbles
  else
    out.int8.assign(static_cast<size_t>(rows * cols), 0);
  const int qmax = int4 ? 7 : 127, qmin = int4 ? -8 : -127;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t gi = 0; gi < groups; ++gi) {
      const int64_t c0 = gi * g, c1 = std::min(cols, c0 + g);
      double amax = 0;
      for (int64_t c = c0; c < c1; ++c) amax = std::max(amax, std::fabs(static_cast<double>(w[r * cols + c])));
      const uint16_t half = ToHalf(static_cast<float>(amax / qmax));
      out.scales[r * groups + gi] = half;
      const double scale = reference::Float16(half);
      for (int64_t c = c0; c < c1; ++c) {
        int q = scale == 0 ? 0 : RoundHalfAway(w[r * cols + c] / scale);
        q = std::min(qmax, std::max(qmin, q));
        if (int4) {
          uint8_t& byte = out.int4[r * row_bytes + c / 2];
          const uint8_t nibble = static_cast<uint8_t>(q + 8);
          byte = (c % 2 == 0) ? static_cast<uint8_t>((byte & 0xF0) | nibble)
                              : static_cast<uint8_t>((byte & 0x0F) | (nibble << 4));
        } else {
          out.int8[r * cols + c] = static_cast<int8_t>(q);
        }
      }
    }
  return out;
}

}  // namespace glm_ops::test
