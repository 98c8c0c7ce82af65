// MoeExperts' 512-bit bf16 kernels (AVX-512, src/cpu/isa/expert_bf16_kernels.cc): the reordering of activations to
// the weights' column pairs, and the projection against a double reference at row counts, widths and token counts
// around every blocking edge, bit for bit the same per token whatever the token count. Skipped where the CPU lacks
// the AVX-512 kernels (the AVX2 table has none; the op tests cover bf16 on both ISAs through cpu::MoeExperts).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "cpu/expert_kernels.h"
#include "cpu/isa_dispatch.h"
#include "moe_token_bits.h"
#include "test_support.h"

namespace glm_ops {
namespace {

uint16_t ToBf16Truncated(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return static_cast<uint16_t>(bits >> 16);
}

TEST(MoeExpertsBf16, TablesOfferThePairKernelOnlyOnAvx512) {
  EXPECT_EQ(cpu::ExpertKernelsFor(cpu::Isa::kAvx2).project_bf16_pairs, nullptr);
  EXPECT_EQ(cpu::ExpertKernelsFor(cpu::Isa::kAvx2).pair_bf16, nullptr);
  if (cpu::CpuHasAvx512Kernels()) {
    EXPECT_NE(cpu::ExpertKernelsFor(cpu::Isa::kAvx512).project_bf16_pairs, nullptr);
    EXPECT_NE(cpu::ExpertKernelsFor(cpu::Isa::kAvx512).pair_bf16, nullptr);
  }
}

TEST(MoeExpertsBf16, PairOrderHoldsEvenThenOddColumnsOfEachBlock) {
  if (!cpu::CpuHasAvx512Kernels()) GTEST_SKIP() << "no AVX-512 kernels on this CPU";
  const cpu::ExpertKernels& k = cpu::ExpertKernelsFor(cpu::Isa::kAvx512);
  for (int64_t cols : {1, 15, 16, 17, 31, 32, 33, 100}) {
    SCOPED_TRACE("cols " + std::to_string(cols));
    std::vector<float> x(static_cast<size_t>(cols));
    for (int64_t c = 0; c < cols; ++c) x[c] = static_cast<float>(c + 1);
    const int64_t padded = cpu::PairColumns(cols);
    ASSERT_EQ(padded % 32, 0);
    ASSERT_GE(padded, cols);
    std::vector<float> out(static_cast<size_t>(padded), -1.0f);
    k.pair_bf16(x.data(), cols, out.data());
    for (int64_t c = 0; c < padded; ++c) {
      const int64_t block = c / 32 * 32, i = c % 32;
      const int64_t source = block + (i < 16 ? 2 * i : 2 * (i - 16) + 1);
      EXPECT_EQ(out[c], source < cols ? x[source] : 0.0f) << "position " << c;
    }
  }
}

TEST(MoeExpertsBf16, PairProjectionMatchesDoubleReferenceAtBlockingEdges) {
  if (!cpu::CpuHasAvx512Kernels()) GTEST_SKIP() << "no AVX-512 kernels on this CPU";
  const cpu::ExpertKernels& k = cpu::ExpertKernelsFor(cpu::Isa::kAvx512);
  std::mt19937 rng(62);
  // Widths around the 32-column step (masked last step) and rows around the 8- / 4-row steps; token counts across
  // the token blocks (up to 4, near-equal: 5 = 2 + 3) and the groups of up to 16 (17 = 8 + 9, 20 = 10 + 10). A
  // sub-range of rows [r0, r1) checks the output offsets. From two tokens the rows run in column chunks (1024 columns
  // up to 4 tokens, 512 beyond) over spans of 64 / 32 / 16 rows (up to 4 / 8 / 16 tokens): 2101 columns end each
  // chunk size on a partial chunk, 70 rows (69 from r0 = 1) hold whole spans and a last one of 5 rows.
  for (int64_t cols : {1, 31, 32, 33, 95, 300, 2101})
    for (int64_t rows : {1, 3, 8, 13, 26, 70}) {
      const auto wf = test::RandomFloats(rng, static_cast<size_t>(rows * cols), -0.2f, 0.2f);
      std::vector<uint16_t> wb(wf.size());
      for (size_t i = 0; i < wf.size(); ++i) wb[i] = ToBf16Truncated(wf[i]);
      constexpr int64_t kMaxTokens = 20;
      const auto x = test::RandomFloats(rng, static_cast<size_t>(kMaxTokens * cols), -2.0f, 2.0f);
      const int64_t padded = cpu::PairColumns(cols);
      std::vector<float> paired(static_cast<size_t>(kMaxTokens * padded));
      std::vector<const float*> xp(static_cast<size_t>(kMaxTokens));
      for (int64_t t = 0; t < kMaxTokens; ++t) {
        k.pair_bf16(x.data() + t * cols, cols, paired.data() + t * padded);
        xp[t] = paired.data() + t * padded;
      }
      MoeExpertsShape shape;
      shape.format = ExpertWeightFormat::kBFloat16;
      shape.quant_block_size = 128;
      const cpu::WeightMatrix w = cpu::WeightMatrix::Of(shape, wb.data(), nullptr, 0, rows, cols);
      const int64_t r0 = rows > 2 ? 1 : 0, r1 = rows;
      std::vector<float> first;  // token 0's outputs with one token
      for (int64_t n : {1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 20}) {
        SCOPED_TRACE("cols " + std::to_string(cols) + " rows " + std::to_string(rows) + " tokens " +
                     std::to_string(n));
        std::vector<float> y(static_cast<size_t>(n * rows), -7.0f);
        k.project_bf16_pairs(w, r0, r1, xp.data(), n, y.data(), rows, {});
        for (int64_t t = 0; t < n; ++t)
          for (int64_t r = r0; r < r1; ++r) {
            const test::RowDot d = test::Bf16RowDot(wb.data() + r * cols, x.data() + t * cols, cols);
            // float32 products and sums: a few ulps of the terms' magnitude per summation level.
            ASSERT_NEAR(y[t * rows + (r - r0)], d.value, 1e-6 * d.magnitude + 1e-30) << "token " << t << " row " << r;
          }
        for (int64_t t = 0; t < n; ++t)  // outputs past the range stay untouched
          for (int64_t r = r1 - r0; r < rows; ++r) ASSERT_EQ(y[t * rows + r], -7.0f);
        const std::vector<float> token0(y.begin(), y.begin() + (r1 - r0));
        if (n == 1) first = token0;
        ASSERT_EQ(std::memcmp(token0.data(), first.data(), token0.size() * sizeof(float)), 0)
            << "token 0's outputs differ from its one-token run";
      }
    }
}

}  // namespace
}  // namespace glm_ops
