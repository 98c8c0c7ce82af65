#include "cpu/rope.h"

#include <cmath>

namespace glm_ops::cpu {

std::vector<float> RotatedCopy(const float* x, int64_t tokens, int64_t heads, int64_t head_dim, int64_t rotary_dim,
                               const RopeTables& tables) {
  std::vector<float> out(x, x + tokens * heads * head_dim);
  const int64_t half = rotary_dim / 2;
  for (int64_t t = 0; t < tokens; ++t) {
    const float* cos = tables.cos + t * half;
    const float* sin = tables.sin + t * half;
    for (int64_t h = 0; h < heads; ++h) {
      float* v = out.data() + (t * heads + h) * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        const float a = v[2 * i], b = v[2 * i + 1];
        // Explicit fused multiply-adds: the same roundings whatever the compiler contracts (the CUDA kernel's form).
        v[2 * i] = std::fma(a, cos[i], -(b * sin[i]));
        v[2 * i + 1] = std::fma(b, cos[i], a * sin[i]);
      }
    }
  }
  return out;
}

}  // namespace glm_ops::cpu
