// Shared experts written out (docs/onnx-contract.md, MoeExperts `shared_experts`): a call with S shared experts must
// equal the same call with every token's routes listed, its top_k ids and weights followed by experts E - S .. E - 1
// with weight 1, and no shared experts. The tests build that second call here, in their own words, and compare.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "common/moe_experts_validation.h"
#include "cpu/moe_experts.h"
#include "reference/moe_experts.h"
#include "test_support.h"

namespace glm_ops::test {

// Random routed ids for a stack of `experts` whose last `shared` are shared: ids in [0, experts - shared).
inline std::vector<int32_t> RoutedIds(std::mt19937& rng, int64_t tokens, int64_t top_k, int64_t experts,
                                      int64_t shared) {
  std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(experts - shared - 1));
  std::vector<int32_t> ids;
  for (int64_t i = 0; i < tokens * top_k; ++i) ids.push_back(pick(rng));
  return ids;
}

// The op and the reference on `shape` (which has shared experts) gave `out` and `expected`; checks both against the
// same call with the shared experts written out as routes: the op bit for bit (it groups the same assignments in
// the same order), the reference exactly.
inline void ExpectSameAsWrittenOutRoutes(const MoeExpertsShape& shape, const float* x, const int32_t* ids,
                                         const float* weights, const cpu::ExpertWeights& ew,
                                         const std::vector<float>& out, const std::vector<double>& expected) {
  const int64_t routes = shape.top_k + shape.shared_experts;
  std::vector<int32_t> all_ids;
  std::vector<float> all_weights;
  for (int64_t t = 0; t < shape.tokens; ++t) {
    for (int64_t k = 0; k < shape.top_k; ++k) {
      all_ids.push_back(ids[t * shape.top_k + k]);
      all_weights.push_back(weights[t * shape.top_k + k]);
    }
    for (int64_t s = 0; s < shape.shared_experts; ++s) {
      all_ids.push_back(static_cast<int32_t>(shape.experts - shape.shared_experts + s));
      all_weights.push_back(1.0f);
    }
  }
  MoeExpertsShape written = shape;
  written.top_k = routes;
  written.shared_experts = 0;
  CheckExpertIds(written, all_ids.data());
  std::vector<float> written_out(out.size(), -7.0f);
  cpu::MoeExperts(Threads(), written, x, all_ids.data(), all_weights.data(), ew, written_out.data());
  ASSERT_EQ(0, std::memcmp(out.data(), written_out.data(), out.size() * sizeof(float)))
      << "shared experts differ from their routes written out";
  EXPECT_EQ(expected, reference::MoeExperts(written, x, all_ids.data(), all_weights.data(), ew));
}

}  // namespace glm_ops::test
