// MoeExperts' AMX bf16 kernel (cpu/expert_amx.h, src/cpu/isa/expert_amx.cc): the kernel against a double reference
// at token counts around its 16-token tiles, widths around the 32-column block (the float32 tail past it) and row
// ranges around its 16-row tiles and 64-row blocks (the matrix's last rows: the zero-padded copy), bit for bit the
// same per token whatever the token count; then the op with AMX on (every expert, and from a token count up) and off
// against the reference. Skipped where AMX is not usable (or GLM_OPS_AMX=off, or the AVX2 kernels forced).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "cpu/amx_support.h"
#include "cpu/expert_amx.h"
#include "cpu/isa_dispatch.h"
#include "cpu/moe_experts.h"
#include "reference/moe_experts.h"
#include "moe_token_bits.h"
#include "moe_tolerance.h"
#include "test_support.h"

namespace glm_ops {
namespace {

bool AmxHere() { return cpu::AmxEnabled() && cpu::ActiveIsa() == cpu::Isa::kAvx512; }

std::vector<uint16_t> RandomBf16(std::mt19937& rng, int64_t count) {
  const auto f = test::RandomFloats(rng, static_cast<size_t>(count), -0.2f, 0.2f);
  std::vector<uint16_t> b(f.size());
  for (size_t i = 0; i < f.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &f[i], 4);
    b[i] = static_cast<uint16_t>(bits >> 16);
  }
  return b;
}

TEST(MoeExpertsAmx, KernelMatchesDoubleReferenceAtTileEdges) {
  if (!AmxHere()) GTEST_SKIP() << "no AMX-BF16 here (or GLM_OPS_AMX=off, or the AVX2 kernels forced)";
  const cpu::ExpertAmxKernels& k = cpu::ExpertAmxKernelsAvx512();
  std::mt19937 rng(71);
  constexpr int64_t kMaxTokens = 40;
  for (int64_t cols : {1, 31, 32, 33, 64, 95, 300})
    for (int64_t rows : {1, 15, 16, 17, 33, 64, 65, 130}) {
      const auto wb = RandomBf16(rng, rows * cols);
      const auto x = test::RandomFloats(rng, static_cast<size_t>(kMaxTokens * cols), -2.0f, 2.0f);
      std::vector<const float*> xr(static_cast<size_t>(kMaxTokens));
      for (int64_t t = 0; t < kMaxTokens; ++t) xr[t] = x.data() + t * cols;
      MoeExpertsShape shape;
      shape.format = ExpertWeightFormat::kBFloat16;
      shape.quant_block_size = 128;
      const cpu::WeightMatrix w = cpu::WeightMatrix::Of(shape, wb.data(), nullptr, 0, rows, cols);
      std::vector<uint16_t> pad(static_cast<size_t>(16 * cols), 0xFFFF);  // NaN bits: the copy must overwrite them
      // Whole matrix, a range from row 1 (blocks straddling the 16-row tiles), and a range ending short of the end.
      const std::vector<std::pair<int64_t, int64_t>> ranges = {{0, rows}, {rows > 2 ? 1 : 0, rows}, {0, (rows + 1) / 2}};
      for (const auto& [r0, r1] : ranges) {
        std::vector<float> first;
        for (int64_t n : {1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 40}) {
          SCOPED_TRACE("cols " + std::to_string(cols) + " rows " + std::to_string(rows) + " range " +
                       std::to_string(r0) + ".." + std::to_string(r1) + " tokens " + std::to_string(n));
          std::vector<uint32_t> b(static_cast<size_t>(cpu::ExpertAmxSplitWords(n, cols)) + 1, 0xDEADBEEF);
          k.split(xr.data(), n, cols, b.data());
          ASSERT_EQ(b.back(), 0xDEADBEEF) << "split wrote past ExpertAmxSplitWords";
          const int64_t ldy = rows + 3;
          std::vector<float> y(static_cast<size_t>(n * ldy), -7.0f);
          k.project(w, r0, r1, b.data(), xr.data(), n, y.data(), ldy, pad.data());
          for (int64_t t = 0; t < n; ++t) {
            for (int64_t r = r0; r < r1; ++r) {
              const test::RowDot d = test::Bf16RowDot(wb.data() + r * cols, x.data() + t * cols, cols);
              // hi + lo is within 2^-16 |x| of each activation (as DenseProjection's AMX test), float32 sums.
              ASSERT_NEAR(y[t * ldy + (r - r0)], d.value, (1e-6 + std::ldexp(1.0, -16)) * d.magnitude + 1e-30)
                  << "token " << t << " row " << r;
            }
            for (int64_t r = r1 - r0; r < ldy; ++r) ASSERT_EQ(y[t * ldy + r], -7.0f) << "past the range, token " << t;
          }
          const std::vector<float> token0(y.begin(), y.begin() + (r1 - r0));
          if (n == 1) first = token0;
          ASSERT_EQ(std::memcmp(token0.data(), first.data(), token0.size() * sizeof(float)), 0)
              << "token 0's outputs differ from its one-token run";
        }
      }
    }
}

// The op against the reference (double, every weight decoded) with AMX for every expert (min 1), from 9 tokens up
// (some experts on the pair kernel in the same call), and off. Experts get 1-40 tokens: one expert with all tokens,
// and top-k routings over few experts; widths around the 32-column block and the 64-row block.
TEST(MoeExpertsAmx, OpMatchesReferenceWithAmxOnAndOff) {
  if (!AmxHere()) GTEST_SKIP() << "no AMX-BF16 here (or GLM_OPS_AMX=off, or the AVX2 kernels forced)";
  struct Case {
    int64_t experts, hidden, inter, tokens, top_k;
  };
  const Case cases[] = {{1, 64, 32, 1, 1},   {1, 64, 32, 16, 1},  {1, 65, 33, 17, 1},  {1, 130, 70, 40, 1},
                        {4, 96, 64, 20, 2},  {3, 33, 95, 33, 3},  {5, 300, 130, 24, 4}, {2, 31, 40, 9, 1}};
  for (int64_t min_tokens : {int64_t{1}, cpu::kExpertAmxDefaultMinTokens, int64_t{9}, int64_t{1000}}) {
    const int64_t before = cpu::SetMoeExpertsAmxMinTokens(min_tokens);
    std::mt19937 rng(73);
    for (const Case& c : cases) {
      SCOPED_TRACE("min " + std::to_string(min_tokens) + " experts " + std::to_string(c.experts) + " hidden " +
                   std::to_string(c.hidden) + " inter " + std::to_string(c.inter) + " tokens " +
                   std::to_string(c.tokens) + " top_k " + std::to_string(c.top_k));
      const auto gate = RandomBf16(rng, c.experts * c.inter * c.hidden);
      const auto up = RandomBf16(rng, c.experts * c.inter * c.hidden);
      const auto down = RandomBf16(rng, c.experts * c.hidden * c.inter);
      const auto x = test::RandomFloats(rng, static_cast<size_t>(c.tokens * c.hidden));
      std::vector<int32_t> ids;
      for (int64_t t = 0; t < c.tokens; ++t)
        for (int64_t j = 0; j < c.top_k; ++j) ids.push_back(static_cast<int32_t>((t + j) % c.experts));
      const auto w = test::RandomFloats(rng, static_cast<size_t>(c.tokens * c.top_k), 0.0f, 2.0f);
      MoeExpertsInputs in;
      in.hidden = {DType::kFloat32, {c.tokens, c.hidden}};
      in.expert_ids = {DType::kInt32, {c.tokens, c.top_k}};
      in.expert_weights = {DType::kFloat32, {c.tokens, c.top_k}};
      in.gate_weights = {DType::kBFloat16, {c.experts, c.inter, c.hidden}};
      in.up_weights = {DType::kBFloat16, {c.experts, c.inter, c.hidden}};
      in.down_weights = {DType::kBFloat16, {c.experts, c.hidden, c.inter}};
      in.gate_scales = in.up_scales = in.down_scales = {DType::kFloat32, {1, 1, 1}};
      const MoeExpertsShape shape = ValidateMoeExperts(in, {128});
      CheckExpertIds(shape, ids.data());
      cpu::ExpertWeights ew{gate.data(), up.data(), down.data(), nullptr, nullptr, nullptr};
      const auto expected = reference::MoeExperts(shape, x.data(), ids.data(), w.data(), ew);
      for (bool amx : {true, false}) {
        SCOPED_TRACE(amx ? "AMX" : "AMX off");
        ASSERT_EQ(cpu::SetAmxEnabled(amx), amx);
        std::vector<float> out(static_cast<size_t>(c.tokens * c.hidden), -5.0f);
        cpu::MoeExperts(test::Threads(), shape, x.data(), ids.data(), w.data(), ew, out.data());
        for (size_t i = 0; i < out.size(); ++i)
          ASSERT_NEAR(out[i], expected[i], test::MoeOutputTolerance(expected, c.hidden, i, amx)) << "element " << i;
      }
      cpu::SetAmxEnabled(true);
    }
    cpu::SetMoeExpertsAmxMinTokens(before);
  }
}

// A token's result through the op is the same bits for 1 .. min - 1 tokens on its expert (pair kernel) and for
// min .. 20 (AMX kernel; 20 = two token tiles and a half), min = the op's default.
TEST(MoeExpertsAmx, TokenResultIsTheSameBitsOnEachSideOfTheAmxCount) {
  if (!AmxHere()) GTEST_SKIP() << "no AMX-BF16 here (or GLM_OPS_AMX=off, or the AVX2 kernels forced)";
  constexpr int64_t kHidden = 300, kInter = 70, kMaxTokens = 20;
  std::mt19937 rng(79);
  const auto gate = RandomBf16(rng, kInter * kHidden), up = RandomBf16(rng, kInter * kHidden);
  const auto down = RandomBf16(rng, kHidden * kInter);
  const auto x = test::RandomFloats(rng, static_cast<size_t>(kMaxTokens * kHidden));
  cpu::ExpertWeights ew{gate.data(), up.data(), down.data(), nullptr, nullptr, nullptr};
  MoeExpertsInputs in;
  in.gate_weights = {DType::kBFloat16, {1, kInter, kHidden}};
  in.up_weights = {DType::kBFloat16, {1, kInter, kHidden}};
  in.down_weights = {DType::kBFloat16, {1, kHidden, kInter}};
  in.gate_scales = in.up_scales = in.down_scales = {DType::kFloat32, {1, 1, 1}};
  std::vector<float> first;
  for (int64_t tokens = 1; tokens <= kMaxTokens; ++tokens) {
    SCOPED_TRACE("tokens " + std::to_string(tokens));
    const std::vector<float> token0 = test::TokenZeroOnOneExpert(in, {128}, tokens, kHidden, x.data(), ew);
    if (tokens == 1 || tokens == cpu::kExpertAmxDefaultMinTokens) first = token0;
    ASSERT_TRUE(test::SameBits(token0, first))
        << "against the run with " << (tokens < cpu::kExpertAmxDefaultMinTokens ? 1 : cpu::kExpertAmxDefaultMinTokens)
        << " tokens";
  }
}

}  // namespace
}  // namespace glm_ops
