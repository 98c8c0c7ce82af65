#include "reference/weight_decode.h"

#include <cmath>
#include <cstring>
#include <limits>

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

double Float16(uint16_t bits) {
  const int sign = bits >> 15, exponent = (bits >> 10) & 0x1F, mantissa = bits & 0x3FF;
  double magnitude;
  if (exponent == 31)
    magnitude = mantissa ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  else if (exponent == 0)
    magnitude = std::pow(2.0, -14) * mantissa / 1024.0;
  else
    magnitude = std::pow(2.0, exponent - 15) * (1.0 + mantissa / 1024.0);
  return sign ? -magnitude : magnitude;
}

double WeightAt(ExpertWeightFormat format, const void* data, const void* scales, int64_t rows, int64_t cols,
                int64_t block, int64_t index) {
  const int64_t e = index / (rows * cols), r = index / cols % rows, c = index % cols;
  const int64_t scale_cols = (cols + block - 1) / block;
  switch (format) {
    case ExpertWeightFormat::kFloat32: return static_cast<const float*>(data)[index];
    case ExpertWeightFormat::kBFloat16: return BFloat16(static_cast<const uint16_t*>(data)[index]);
    case ExpertWeightFormat::kFloat8E4M3: {
      const int64_t scale_rows = (rows + block - 1) / block;
      const float* s = static_cast<const float*>(scales);
      return E4M3(static_cast<const uint8_t*>(data)[index]) * s[(e * scale_rows + r / block) * scale_cols + c / block];
    }
    case ExpertWeightFormat::kInt8: {
      const double scale = Float16(static_cast<const uint16_t*>(scales)[(e * rows + r) * scale_cols + c / block]);
      return static_cast<const int8_t*>(data)[index] * scale;
    }
    case ExpertWeightFormat::kInt4: {
      const int64_t row_bytes = (cols + 1) / 2;
      const uint8_t byte = static_cast<const uint8_t*>(data)[(e * rows + r) * row_bytes + c / 2];
      const int q = (c % 2 == 0 ? byte & 15 : byte >> 4) - 8;
      const double scale = Float16(static_cast<const uint16_t*>(scales)[(e * rows + r) * scale_cols + c / block]);
      return q * scale;
    }
  }
  return std::nan("");
}

}  // namespace glm_ops::reference
