// A token routed to one expert more than once (the contract allows it: its routes add up). The int8 / int4 experts
// with many tokens run as whole calls (cpu/moe_whole_calls.h) whose weighted add once split tokens across the pool,
// so a token's two routes could be added by two threads at once: a race, seen as a wrong sum now and then. The op on
// four threads must give the one-thread op's bits on every repeat, and the reference's values within the activation
// rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "cpu/moe_experts.h"
#include "cpu/moe_whole_calls.h"
#include "cpu/spawned_threads.h"
#include "int_experts_inputs.h"
#include "moe_token_bits.h"
#include "reference/moe_experts.h"
#include "test_support.h"

namespace glm_ops {
namespace {

TEST(MoeRepeatedRoutes, ATokenRoutedTwiceToABusyExpertAddsBothRoutesOnEveryRun) {
  std::mt19937 rng(61);
  const int64_t experts = 2, hidden = 96, inter = 64, tokens = 49, top_k = 2, g = 32;
  // Token 0 goes to experts 1 and 0, every other token to expert 0 twice: expert 0 holds 97 routes, the repeated
  // pairs at odd positions, so an even split of its routes cuts between the two routes of a token.
  std::vector<int32_t> ids(static_cast<size_t>(tokens * top_k), 0);
  ids[0] = 1;
  const auto routing = test::RandomFloats(rng, ids.size(), 0.0f, 2.0f);
  const auto x = test::RandomFloats(rng, static_cast<size_t>(tokens * hidden));
  for (bool int4 : {false, true}) {
    SCOPED_TRACE(int4 ? "int4" : "int8");
    auto matrix = [&](int64_t rows, int64_t cols) {
      return test::QuantizeWeights(test::RandomFloats(rng, static_cast<size_t>(rows * cols), -0.2f, 0.2f), rows, cols,
                                   g, int4);
    };
    const auto gate = matrix(experts * inter, hidden), up = matrix(experts * inter, hidden);
    const auto down = matrix(experts * hidden, inter);
    const MoeExpertsInputs in = test::IntExpertsInputs(int4, experts, hidden, inter, g, tokens, top_k);
    const MoeExpertsShape shape = ValidateMoeExperts(in, {g, int4 ? "int4" : "", 0});
    ASSERT_TRUE(cpu::ExpertRunsWhole(shape, 2 * tokens - 1));  // expert 0's routes take the whole calls
    const cpu::ExpertWeights ew = test::IntExpertWeights(gate, up, down, int4);

    std::vector<float> one_thread(static_cast<size_t>(tokens * hidden));
    cpu::MoeExperts(cpu::SpawnedThreads(1), shape, x.data(), ids.data(), routing.data(), ew, one_thread.data());
    const auto expected = reference::MoeExperts(shape, x.data(), ids.data(), routing.data(), ew);
    double error_squares = 0, expected_squares = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
      error_squares += (one_thread[i] - expected[i]) * (one_thread[i] - expected[i]);
      expected_squares += expected[i] * expected[i];
    }
    EXPECT_LE(std::sqrt(error_squares / expected_squares), 2e-2);  // both routes counted: one would be ~50 % off

    for (int run = 0; run < 40; ++run) {
      std::vector<float> out(one_thread.size(), -5.0f);
      cpu::MoeExperts(test::Threads(), shape, x.data(), ids.data(), routing.data(), ew, out.data());
      ASSERT_TRUE(test::SameBits(out, one_thread)) << "run " << run;
    }
  }
}

}  // namespace
}  // namespace glm_ops
