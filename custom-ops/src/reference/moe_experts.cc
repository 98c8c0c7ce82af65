#include "reference/moe_experts.h"

#include <cmath>

#include "reference/weight_decode.h"

namespace glm_ops::reference {

std::vector<double> MoeExperts(const MoeExpertsShape& s, const float* x, const int32_t* ids, const float* w,
                               const cpu::ExpertWeights& weights) {
  const int64_t hidden = s.hidden, inter = s.inter, block = s.quant_block_size;
  auto gate = [&](int64_t i) { return WeightAt(s.format, weights.gate, weights.gate_scales, inter, hidden, block, i); };
  auto up = [&](int64_t i) { return WeightAt(s.format, weights.up, weights.up_scales, inter, hidden, block, i); };
  auto down = [&](int64_t i) { return WeightAt(s.format, weights.down, weights.down_scales, hidden, inter, block, i); };
  std::vector<double> out(static_cast<size_t>(s.tokens * hidden), 0.0);
  std::vector<double> h(static_cast<size_t>(inter));
  for (int64_t t = 0; t < s.tokens; ++t)
    for (int64_t k = 0; k < s.Routes(); ++k) {
      const int64_t e = RouteExpert(s, ids, t, k);
      for (int64_t r = 0; r < inter; ++r) {
        double g = 0, u = 0;
        for (int64_t c = 0; c < hidden; ++c) {
          g += gate((e * inter + r) * hidden + c) * x[t * hidden + c];
          u += up((e * inter + r) * hidden + c) * x[t * hidden + c];
        }
        h[r] = g / (1.0 + std::exp(-g)) * u;
      }
      for (int64_t r = 0; r < hidden; ++r) {
        double y = 0;
        for (int64_t c = 0; c < inter; ++c) y += down((e * hidden + r) * inter + c) * h[c];
        out[t * hidden + r] += RouteWeight(s, w, t, k) * y;
      }
    }
  return out;
}

}  // namespace glm_ops::reference
