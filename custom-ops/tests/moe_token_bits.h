// Helpers of the MoeExperts tests that ask for exact results: a double reference for one bf16 weight row, and token
// 0's output when `tokens` tokens all go to expert 0 (the op's contract: a token's routed output does not depend on
// how many tokens share its expert, docs/onnx-contract.md).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/moe_experts_validation.h"
#include "cpu/moe_experts.h"
#include "test_support.h"

namespace glm_ops::test {

inline float FromBf16(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &wide, 4);
  return f;
}

// sum_c w[c] * x[c] in double, and sum_c |w[c] * x[c]| (what a float32 kernel's rounding error scales with).
struct RowDot {
  double value = 0, magnitude = 0;
};
inline RowDot Bf16RowDot(const uint16_t* w, const float* x, int64_t cols) {
  RowDot d;
  for (int64_t c = 0; c < cols; ++c) {
    const double term = static_cast<double>(FromBf16(w[c])) * x[c];
    d.value += term;
    d.magnitude += std::abs(term);
  }
  return d;
}

// MoeExperts on the CPU with `tokens` rows of x [tokens, hidden], every one on expert 0 with routing weight 1; returns
// token 0's output row. `weights` describes the weight and scale inputs (its token dimensions are set here).
inline std::vector<float> TokenZeroOnOneExpert(MoeExpertsInputs weights, const MoeExpertsAttributes& attributes,
                                               int64_t tokens, int64_t hidden, const float* x,
                                               const cpu::ExpertWeights& ew) {
  weights.hidden = {DType::kFloat32, {tokens, hidden}};
  weights.expert_ids = {DType::kInt32, {tokens, 1}};
  weights.expert_weights = {DType::kFloat32, {tokens, 1}};
  const MoeExpertsShape shape = ValidateMoeExperts(weights, attributes);
  const std::vector<int32_t> ids(static_cast<size_t>(tokens), 0);
  const std::vector<float> routing(static_cast<size_t>(tokens), 1.0f);
  std::vector<float> out(static_cast<size_t>(tokens * hidden));
  cpu::MoeExperts(Threads(), shape, x, ids.data(), routing.data(), ew, out.data());
  out.resize(static_cast<size_t>(hidden));
  return out;
}

// Whether a and b hold the same float bits element by element; the first difference is reported.
inline ::testing::AssertionResult SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return ::testing::AssertionFailure() << "sizes " << a.size() << " and " << b.size();
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0)
      return ::testing::AssertionFailure() << "element " << i << ": " << a[i] << " vs " << b[i];
  return ::testing::AssertionSuccess();
}

}  // namespace glm_ops::test
