// Host-side bfloat16 / e4m3 helpers for the harnesses: round-to-nearest-even float -> bf16, exact widening, and
// the e4m3fn byte -> float decode (the same definition as docs/onnx-contract.md).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cpu/spawned_threads.h"

namespace glm_ops::gpu {

// The CPU kernels' loops in the harness: one thread per core, started per loop.
inline const cpu::Parallel& HostThreads() {
  static const cpu::SpawnedThreads threads;
  return threads;
}

inline uint16_t ToBf16(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return 0x7FC0;  // NaN
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

inline float FromBf16(uint16_t v) {
  const uint32_t bits = static_cast<uint32_t>(v) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// Rounds every value to bf16 in place (the float reference then sees exactly what the bf16 kernel sees) and
// returns the bf16 bit patterns.
inline std::vector<uint16_t> RoundToBf16(std::vector<float>& values) {
  std::vector<uint16_t> bits(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    bits[i] = ToBf16(values[i]);
    values[i] = FromBf16(bits[i]);
  }
  return bits;
}

inline std::vector<float> Bf16ToFloat(const std::vector<uint16_t>& bits) {
  std::vector<float> out(bits.size());
  for (size_t i = 0; i < bits.size(); ++i) out[i] = FromBf16(bits[i]);
  return out;
}

// A reference's double output as the float32 the kernels produce.
inline std::vector<float> ToFloats(const std::vector<double>& values) {
  return std::vector<float>(values.begin(), values.end());
}

}  // namespace glm_ops::gpu
