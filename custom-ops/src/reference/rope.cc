#include "reference/rope.h"

namespace glm_ops::reference {

std::vector<float> Rotated(const float* x, int64_t tokens, int64_t heads, int64_t head_dim, int64_t rotary_dim,
                           const RopeTables& tables) {
  std::vector<float> out(x, x + tokens * heads * head_dim);
  const int64_t pairs = rotary_dim / 2;
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < pairs; ++i) {
        const int64_t at = (t * heads + h) * head_dim + 2 * i;
        const double c = tables.cos[t * pairs + i], s = tables.sin[t * pairs + i];
        const double even = x[at], odd = x[at + 1];
        out[at] = static_cast<float>(even * c - odd * s);
        out[at + 1] = static_cast<float>(odd * c + even * s);
      }
  return out;
}

}  // namespace glm_ops::reference
