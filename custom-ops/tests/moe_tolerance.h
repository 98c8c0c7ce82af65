// How far MoeExperts' output may be from the double reference (src/reference/moe_experts.h), shared by the op tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "common/moe_experts_validation.h"
#include "cpu/amx_support.h"
#include "cpu/isa_dispatch.h"

namespace glm_ops::test {

// Whether bf16 weights may take the AMX tile kernel (cpu/expert_amx.h) in cpu::MoeExperts here and now.
inline bool MoeBf16MayUseAmx(ExpertWeightFormat format) {
  return format == ExpertWeightFormat::kBFloat16 && cpu::AmxEnabled() && cpu::ActiveIsa() == cpu::Isa::kAvx512;
}

// Element i of a [tokens, hidden] output: float32 products and sums, 1e-5 + 1e-4 |expected|; on the AMX tile kernel
// each activation enters as hi + lo bf16 terms within 2^-16 of it (gate / up, then down), so add 2^-12 of the
// token's largest output (a single bf16 rounding of the activations, 2^-8, would fail this by far).
template <typename T>
double MoeOutputTolerance(const std::vector<T>& expected, int64_t hidden, size_t i, bool amx_split) {
  double tolerance = 1e-5 + 1e-4 * std::abs(static_cast<double>(expected[i]));
  if (amx_split) {
    const size_t row = i / static_cast<size_t>(hidden) * static_cast<size_t>(hidden);
    double largest = 0;
    for (size_t k = row; k < row + static_cast<size_t>(hidden); ++k)
      if (!std::isnan(static_cast<double>(expected[k])))
        largest = std::max(largest, std::abs(static_cast<double>(expected[k])));
    tolerance += std::ldexp(largest, -12);
  }
  return tolerance;
}

}  // namespace glm_ops::test
