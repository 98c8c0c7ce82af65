#include "reference/weight_decode.h"

#include <cmath>
#include <cstring>

namespace glm_ops::reference {

double E4M3(uint8_t bits) {
  const int sign = bits >> 7, exponent = (bits >> 3) & 0xF, mantissa = bits & 7;
  if (exponent == 15 && mantissa == 7) return std::nan("");
  const double magnitude =
      exponent == 0 ? std::pow(2.0, -6) * mantissa / 8.0 : std::pow(2.0, exponent - 7) * (1.0 + mantissa / 8.0);
  return sign ? -magnitude : magnitude;
}

double BFloat16(uint16_t bits) {
  const uint32_t wide = uint32_t{bits} << 16;
  float f;
  std::memcpy(&f, &wide, 4);
  return f;
}

double WeightAt(ExpertWeightFormat format, const void* data, const float* scales, int64_t rows, int64_t cols,
                int64_t block, int64_t index) {
  switch (format) {
    case ExpertWeightFormat::kFloat32: return static_cast<const float*>(data)[index];
    case ExpertWeightFormat::kBFloat16: return BFloat16(static_cast<const uint16_t*>(data)[index]);
    case ExpertWeightFormat::kFloat8E4M3: break;
  }
  const int64_t e = index / (rows * cols), r = index / cols % rows, c = index % cols;
  const int64_t scale_rows = (rows + block - 1) / block, scale_cols = (cols + block - 1) / block;
  return E4M3(static_cast<const uint8_t*>(data)[index]) * scales[(e * scale_rows + r / block) * scale_cols + c / block];
}

}  // namespace glm_ops::reference
