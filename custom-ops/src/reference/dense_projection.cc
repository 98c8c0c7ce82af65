#include "reference/dense_projection.h"

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

}  // namespace glm_ops::reference
