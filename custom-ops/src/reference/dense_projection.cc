#include "reference/dense_projection.h"

#include <cmath>

#include "reference/weight_decode.h"

namespace glm_ops::reference {

std::vector<double> DenseProjection(const DenseProjectionShape& s, const float* x, const DenseWeight& w) {
  std::vector<double> out(static_cast<size_t>(s.tokens * s.out), 0.0);
  for (int64_t t = 0; t < s.tokens; ++t)
    for (int64_t n = 0; n < s.out; ++n) {
      double sum = 0;
      // Group n / (out / G) reads its own `in` columns of the input row.
      const float* xg = x + t * s.InputWidth() + (n / s.GroupRows()) * s.in;
      for (int64_t k = 0; k < s.in; ++k)
        sum += WeightAt(s.format, w.data, w.scales, s.out, s.in, s.quant_block_size, n * s.in + k) * xg[k];
      out[t * s.out + n] = sum;
    }
  return out;
}

std::vector<double> DenseProjectionNode(const DenseProjectionShape& s, const float* x, const DenseWeight& w,
                                        const float* addend) {
  std::vector<float> activated;
  if (s.swiglu) {
    activated.resize(static_cast<size_t>(s.tokens * s.in));
    for (int64_t t = 0; t < s.tokens; ++t)
      for (int64_t i = 0; i < s.in; ++i) {
        const double gate = x[t * 2 * s.in + i], up = x[t * 2 * s.in + s.in + i];
        activated[t * s.in + i] = static_cast<float>(gate / (1.0 + std::exp(-gate)) * up);
      }
    x = activated.data();
  }
  std::vector<double> out = DenseProjection(s, x, w);
  if (s.addend)
    for (size_t i = 0; i < out.size(); ++i) out[i] += addend[i];
  return out;
}

}  // namespace glm_ops::reference
