// MoeRouting against the reference (src/reference: full sorts, no tricks) over a grid of expert/group configurations.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "cpu/moe_routing.h"
#include "reference/moe_routing.h"
#include "test_support.h"

namespace glm_ops {
namespace {

struct RoutingCase {
  int64_t experts, top_k, n_group, topk_group;
  bool norm;
  float scale;
};

TEST(MoeRouting, MatchesReferenceOverConfigurations) {
  const RoutingCase cases[] = {
      {8, 2, 1, 1, true, 1.0f},  {16, 4, 4, 2, true, 2.5f}, {16, 4, 4, 2, false, 1.0f}, {256, 8, 1, 1, true, 2.5f},
      {256, 8, 8, 4, true, 2.5f}, {12, 3, 6, 3, true, 1.5f}, {6, 2, 6, 2, true, 1.0f},   {4, 4, 2, 2, false, 2.0f},
  };
  std::mt19937 rng(7);
  for (const RoutingCase& c : cases) {
    for (int64_t tokens : {1, 5, 130}) {
      MoeRoutingAttributes a{c.top_k, c.n_group, c.topk_group, c.norm, c.scale};
      auto logits = test::RandomFloats(rng, tokens * c.experts, -4.0f, 4.0f);
      auto bias = test::RandomFloats(rng, c.experts, -0.5f, 0.5f);
      const MoeRoutingShape shape =
          ValidateMoeRouting({DType::kFloat32, {tokens, c.experts}}, {DType::kFloat32, {c.experts}}, a);
      std::vector<int32_t> ids(tokens * c.top_k);
      std::vector<float> weights(ids.size());
      cpu::MoeRouting(test::Threads(), shape, logits.data(), bias.data(), ids.data(), weights.data());
      std::vector<int32_t> expected_ids(ids.size());
      std::vector<float> expected_weights(ids.size());
      reference::MoeRouting(shape, logits.data(), bias.data(), expected_ids.data(), expected_weights.data());
      ASSERT_EQ(ids, expected_ids) << "experts " << c.experts << " groups " << c.n_group << " tokens " << tokens;
      for (size_t i = 0; i < weights.size(); ++i) EXPECT_NEAR(weights[i], expected_weights[i], 1e-6f);
    }
  }
}

TEST(MoeRouting, BiasChoosesButDoesNotWeigh) {
  // Expert 0 has the lowest logit but a huge bias: it is chosen, and its weight is its own unbiased sigmoid share.
  const std::vector<float> logits{-2.0f, 1.0f, 0.5f, 0.0f};
  const std::vector<float> bias{10.0f, 0.0f, 0.0f, 0.0f};
  MoeRoutingAttributes a{2, 1, 1, true, 1.0f};
  const MoeRoutingShape shape = ValidateMoeRouting({DType::kFloat32, {1, 4}}, {DType::kFloat32, {4}}, a);
  std::vector<int32_t> ids(2);
  std::vector<float> weights(2);
  cpu::MoeRouting(test::Threads(), shape, logits.data(), bias.data(), ids.data(), weights.data());
  EXPECT_EQ(ids, (std::vector<int32_t>{0, 1}));
  const float s0 = 1.0f / (1.0f + std::exp(2.0f)), s1 = 1.0f / (1.0f + std::exp(-1.0f));
  EXPECT_NEAR(weights[0], s0 / (s0 + s1), 1e-6f);
  EXPECT_NEAR(weights[1], s1 / (s0 + s1), 1e-6f);
}

TEST(MoeRoutingValidation, RejectsBadShapesTypesAndAttributes) {
  MoeRoutingAttributes ok{2, 2, 1, true, 1.0f};
  test::ExpectInputError([&] { ValidateMoeRouting({DType::kBFloat16, {3, 8}}, {DType::kFloat32, {8}}, ok); },
                         {"MoeRouting", "'router_logits'", "element type", "expected float", "got bfloat16"});
  test::ExpectInputError([&] { ValidateMoeRouting({DType::kFloat32, {3, 8, 1}}, {DType::kFloat32, {8}}, ok); },
                         {"'router_logits'", "rank", "expected 2-D", "got 3-D [3, 8, 1]"});
  test::ExpectInputError([&] { ValidateMoeRouting({DType::kFloat32, {3, 8}}, {DType::kFloat32, {7}}, ok); },
                         {"'correction_bias'", "dimension 0 = 8 (n_experts", "got [7]"});
  test::ExpectInputError([&] { ValidateMoeRouting({DType::kFloat32, {3, 9}}, {DType::kFloat32, {9}}, ok); },
                         {"'router_logits'", "multiple of n_group = 2", "got 9 experts"});
  test::ExpectInputError(
      [&] { ValidateMoeRouting({DType::kFloat32, {3, 8}}, {DType::kFloat32, {8}}, {5, 2, 1, true, 1.0f}); },
      {"attribute 'top_k'", "<= topk_group * n_experts / n_group = 4", "got 5"});
  test::ExpectInputError([&] { ValidateMoeRoutingAttributes({2, 2, 3, true, 1.0f}); },
                         {"attribute 'topk_group'", "got 3"});
  test::ExpectInputError([&] { ValidateMoeRoutingAttributes({0, 1, 1, true, 1.0f}); }, {"attribute 'top_k'", ">= 1"});
}

}  // namespace
}  // namespace glm_ops
