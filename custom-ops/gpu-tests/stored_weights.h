// Random weights in their stored bytes for the parity runs (every ExpertWeightFormat), shared by the MoeExperts and
// DenseProjection runs: an [experts, rows, cols] stack, one expert for a dense matrix.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "common/moe_experts_validation.h"
#include "host_types.h"
#include "parity_options.h"

namespace glm_ops::gpu {

inline const char* FormatName(ExpertWeightFormat f) {
  switch (f) {
    case ExpertWeightFormat::kFloat32: return "w=f32";
    case ExpertWeightFormat::kBFloat16: return "w=bf16";
    case ExpertWeightFormat::kFloat8E4M3: return "w=fp8";
    case ExpertWeightFormat::kInt8: return "w=int8";
    case ExpertWeightFormat::kInt4: return "w=int4";
  }
  return "w=?";
}

inline bool IsInteger(ExpertWeightFormat f) { return f == ExpertWeightFormat::kInt8 || f == ExpertWeightFormat::kInt4; }

// One stacked weight tensor in its stored bytes (FP8 with its float block scales, int8/int4 with float16 row-group
// scales).
struct StoredWeights {
  std::vector<uint8_t> bytes;
  std::vector<float> scales;
  std::vector<uint16_t> half_scales;
  const void* Scales() const {
    return half_scales.empty() ? static_cast<const void*>(scales.data()) : static_cast<const void*>(half_scales.data());
  }
};

inline StoredWeights MakeWeights(uint64_t seed, ExpertWeightFormat format, int64_t experts, int64_t rows, int64_t cols,
                          int64_t qb) {
  StoredWeights w;
  const size_t count = static_cast<size_t>(experts * rows * cols);
  if (IsInteger(format)) {
    // int8 q in [-127, 127] or int4 bytes (two q + 8 nibbles), and float16 scales 2^-e * (1 + m/1024) built from
    // their bits: e = 12 for int8, 8 for int4, so weights stay within about +-0.06 like the other formats.
    const bool int4 = format == ExpertWeightFormat::kInt4;
    const int64_t row_bytes = int4 ? (cols + 1) / 2 : cols;
    const size_t bytes = static_cast<size_t>(experts * rows * row_bytes);
    std::vector<float> u = FastUniform(seed, bytes, 0.f, 1.f);
    w.bytes.resize(bytes);
    for (size_t i = 0; i < bytes; ++i)
      w.bytes[i] = int4 ? static_cast<uint8_t>(u[i] * 255.99f) : static_cast<uint8_t>(static_cast<int8_t>(u[i] * 254.99f - 127.0f));
    const size_t scale_count = static_cast<size_t>(experts * rows * ((cols + qb - 1) / qb));
    std::vector<float> m = FastUniform(seed + 7, scale_count, 0.f, 1023.99f);
    const uint16_t exponent_field = int4 ? 15 - 8 : 15 - 12;
    w.half_scales.resize(scale_count);
    for (size_t i = 0; i < scale_count; ++i)
      w.half_scales[i] = static_cast<uint16_t>(exponent_field << 10 | static_cast<uint16_t>(m[i]));
    return w;
  }
  if (format == ExpertWeightFormat::kFloat8E4M3) {
    std::vector<float> u = FastUniform(seed, count, 0.f, 1.f);
    w.bytes.resize(count);
    for (size_t i = 0; i < count; ++i) {
      uint8_t b = static_cast<uint8_t>(u[i] * 255.99f);
      if ((b & 0x7F) == 0x7F) b ^= 0x01;  // no NaN weights
      w.bytes[i] = b;
    }
    const int64_t sr = (rows + qb - 1) / qb, sc = (cols + qb - 1) / qb;
    w.scales = FastUniform(seed + 7, static_cast<size_t>(experts * sr * sc), 0.5e-4f, 1.5e-4f);
    return w;
  }
  std::vector<float> values = FastUniform(seed, count, -0.05f, 0.05f);
  if (format == ExpertWeightFormat::kBFloat16) {
    const std::vector<uint16_t> bits = RoundToBf16(values);
    w.bytes.resize(count * 2);
    std::memcpy(w.bytes.data(), bits.data(), count * 2);
  } else {
    w.bytes.resize(count * 4);
    std::memcpy(w.bytes.data(), values.data(), count * 4);
  }
  return w;
}

}  // namespace glm_ops::gpu
