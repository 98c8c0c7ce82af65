// What one parity run does: which candidate stands against the CPU kernels, and which case sizes run.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include "cuda/activation.h"
#include "parity_report.h"

namespace glm_ops::gpu {

struct ParityOptions {
  Candidate candidate = Candidate::kCuda;
  bool tiny = true;  // small shapes: odd widths, block size 1, every edge case
  bool real = true;  // GLM-5.2 widths (index 32x128 / top-2048, MLA 64x(512+64), experts 6144x2048)
  bool huge = true;  // the longest contexts (indexer 1M)
};

void RunIndexerParity(const ParityOptions& options, ParityReport& report);
void RunSparseMlaParity(const ParityOptions& options, ParityReport& report);
void RunRoutingParity(const ParityOptions& options, ParityReport& report);
void RunExpertsParity(const ParityOptions& options, ParityReport& report);
void RunDenseParity(const ParityOptions& options, ParityReport& report);

inline double MillisecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// Fast uniform floats for the large arrays (GB of expert weights): splitmix64, good enough for test data.
inline std::vector<float> FastUniform(uint64_t seed, size_t count, float lo, float hi) {
  std::vector<float> v(count);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (float& f : v) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    f = lo + (hi - lo) * static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
  }
  return v;
}

inline const char* DtypeLabel(cuda::Activation a) { return a == cuda::Activation::kFloat32 ? "f32" : "bf16"; }

}  // namespace glm_ops::gpu
