// MoeExperts with int8 and int4 weights: the contract's quantizer round trip (tests/int_weight_quantizer.h), the
// reference's decoding of the packed layout, the integer dot-product path of each instruction set against the
// test's own activation quantization (exact up to float rounding), and the whole op against the reference
// (within the activation rounding the integer path adds; exact where the op decodes to float).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cpu/expert_projection.h"
#include "cpu/isa_dispatch.h"
#include "cpu/moe_experts.h"
#include "cpu/moe_whole_calls.h"
#include "int_experts_inputs.h"
#include "moe_shared_routes.h"
#include "moe_token_bits.h"
#include "reference/moe_experts.h"
#include "reference/weight_decode.h"
#include "test_support.h"

namespace glm_ops {
namespace {

ExpertWeightFormat Format(bool int4) { return int4 ? ExpertWeightFormat::kInt4 : ExpertWeightFormat::kInt8; }


// Random weights [rows, cols] in [-0.2, 0.2], the first group of row 0 all zero (scale 0).
std::vector<float> RandomWeights(std::mt19937& rng, int64_t rows, int64_t cols, int64_t g) {
  auto w = test::RandomFloats(rng, static_cast<size_t>(rows * cols), -0.2f, 0.2f);
  for (int64_t c = 0; c < std::min(g, cols); ++c) w[c] = 0.0f;
  return w;
}

TEST(MoeExpertsInt, ContractQuantizerRoundTripsWithinHalfAStep) {
  std::mt19937 rng(51);
  for (bool int4 : {false, true})
    for (int64_t cols : {37, 64, 200})
      for (int64_t g : {32, 128}) {
        SCOPED_TRACE(std::string(int4 ? "int4" : "int8") + " cols " + std::to_string(cols) + " G " +
                     std::to_string(g));
        const int64_t rows = 5;
        const auto w = RandomWeights(rng, rows, cols, g);
        const test::QuantizedMatrix m = test::QuantizeWeights(w, rows, cols, g, int4);
        const int64_t groups = (cols + g - 1) / g;
        double worst = 0;
        for (int64_t i = 0; i < rows * cols; ++i) {
          const double back =
              reference::WeightAt(Format(int4), test::StoredData(m, int4), m.scales.data(), rows, cols, g, i);
          const double scale = reference::Float16(m.scales[(i / cols) * groups + (i % cols) / g]);
          ASSERT_LE(std::abs(back - w[i]), scale / 2 + 1e-12) << "weight " << i;
          if (w[i] == 0.0f) ASSERT_EQ(back, 0.0) << "weight " << i;
          worst = std::max(worst, std::abs(back - w[i]) / (scale > 0 ? scale : 1));
        }
        EXPECT_GT(worst, 0.1);  // the round trip is not trivially exact
        EXPECT_EQ(m.scales[0], 0) << "an all-zero group has scale 0";
        if (int4 && cols % 2 == 1)
          for (int64_t r = 0; r < rows; ++r) EXPECT_EQ(m.int4[r * ((cols + 1) / 2) + cols / 2] >> 4, 8);
      }
}

TEST(MoeExpertsInt, ReferenceDecodesTheContractsLayouts) {
  // int4: byte 0x1F holds column 0 = 0xF - 8 = 7 (low nibble) and column 1 = 0x1 - 8 = -7 (high nibble); byte 0x80
  // holds column 2 = -8 and column 3 = 0. Scales (float16): 0x3800 = 0.5 for columns 0-1, 0x4000 = 2 for 2-3 (G 2).
  const uint8_t int4[] = {0x1F, 0x80};
  const uint16_t scales[] = {0x3800, 0x4000};
  const double expected4[] = {3.5, -3.5, -16.0, 0.0};
  for (int64_t c = 0; c < 4; ++c)
    EXPECT_EQ(reference::WeightAt(ExpertWeightFormat::kInt4, int4, scales, 1, 4, 2, c), expected4[c]) << c;
  const int8_t int8[] = {-127, 5, 127, -1};
  const double expected8[] = {-63.5, 2.5, 254.0, -2.0};
  for (int64_t c = 0; c < 4; ++c)
    EXPECT_EQ(reference::WeightAt(ExpertWeightFormat::kInt8, int8, scales, 1, 4, 2, c), expected8[c]) << c;
  EXPECT_EQ(reference::Float16(0x3C00), 1.0);
  EXPECT_EQ(reference::Float16(0x0001), std::ldexp(1.0, -24));
  EXPECT_EQ(reference::Float16(0xC000), -2.0);
  EXPECT_EQ(test::ToHalf(1.0f), 0x3C00);
  EXPECT_EQ(test::ToHalf(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(test::ToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3C00);  // a tie rounds to the even neighbour
  EXPECT_EQ(test::ToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);
}

// The activation quantization the docs state, written out: per chunk of 32 columns, scale = max|x| / 127 and
// q = round-to-nearest-even(x * (127 / max|x|)) in float.
struct TestQuantized {
  std::vector<int8_t> q;  // natural column order, padded to a multiple of 128
  std::vector<float> scales;  // per chunk
};
TestQuantized QuantizeActivations(const float* x, int64_t cols) {
  TestQuantized out;
  out.q.assign(static_cast<size_t>((cols + 127) / 128 * 128), 0);
  out.scales.assign(out.q.size() / 32, 0.0f);
  for (int64_t c0 = 0; c0 < cols; c0 += 32) {
    const int64_t c1 = std::min(cols, c0 + 32);
    float amax = 0;
    for (int64_t c = c0; c < c1; ++c) amax = std::max(amax, std::fabs(x[c]));
    out.scales[c0 / 32] = amax / 127.0f;
    const float inverse = amax > 0 ? 127.0f / amax : 0.0f;
    for (int64_t c = c0; c < c1; ++c) out.q[c] = static_cast<int8_t>(std::nearbyint(x[c] * inverse));
  }
  return out;
}

std::vector<cpu::Isa> AvailableIsas() {
  std::vector<cpu::Isa> isas{cpu::Isa::kAvx2};
  if (cpu::CpuHasAvx512Kernels()) isas.push_back(cpu::Isa::kAvx512);
  return isas;
}

TEST(MoeExpertsInt, IntegerPathOfEachIsaMatchesItsQuantizedActivations) {
  // ProjectRows' integer path (DenseProjection's one-token kernels in blocks of up to four tokens) against the dot
  // product of the test's own quantized activations, exact up to float rounding: a wrongly ordered column, nibble,
  // lane scale or correction gives errors of the order of the activation rounding itself or more. Tokens whose rows
  // are not side by side (every other row of the buffer) take the gathered copy.
  std::mt19937 rng(52);
  const cpu::Isa process_isa = cpu::ActiveIsa();
  for (cpu::Isa isa : AvailableIsas()) {
    ASSERT_TRUE(cpu::ForceIsa(isa));
    for (bool int4 : {false, true})
      for (int64_t g : {32, 64, 96, 128}) {
        // G 32 and 128, the converter's, take the integer path on every ISA; others where the kernel step divides G.
        if (g == 32 || g == 128) ASSERT_TRUE(cpu::IntegerPathApplies(Format(int4), g));
        if (!cpu::IntegerPathApplies(Format(int4), g)) continue;
        for (int64_t cols : {32, 37, 64, 128, 200, 259, 300, 1000, 1100})
          for (int64_t rows : {1, 5, 26})
            for (int64_t n : {1, 2, 3, 4, 5, 8, 9})
              for (bool spread : {false, true}) {
                SCOPED_TRACE(std::string(cpu::IsaName(isa)) + (int4 ? " int4" : " int8") + " G " +
                             std::to_string(g) + " cols " + std::to_string(cols) + " rows " + std::to_string(rows) +
                             " tokens " + std::to_string(n) + (spread ? " spread" : ""));
                const test::QuantizedMatrix m =
                    test::QuantizeWeights(RandomWeights(rng, rows, cols, g), rows, cols, g, int4);
                MoeExpertsShape shape;
                shape.quant_block_size = g;
                shape.format = Format(int4);
                // NaN float16 scales past the last row's: a kernel that reads a scale past its row gives NaN.
                std::vector<uint16_t> scales_then_nan = m.scales;
                scales_then_nan.insert(scales_then_nan.end(), 8, 0x7E00);
                const cpu::WeightMatrix w =
                    cpu::WeightMatrix::Of(shape, test::StoredData(m, int4), scales_then_nan.data(), 0, rows, cols);
                const int64_t stored = spread ? 2 * n : n;
                const auto x = test::RandomFloats(rng, static_cast<size_t>(stored * cols), -2.0f, 2.0f);
                cpu::QuantizedRows quantized;
                quantized.Reset(shape.format, stored, cols);
                std::vector<cpu::QuantizedRow> xq;
                std::vector<TestQuantized> mine;
                for (int64_t i = 0; i < stored; ++i) quantized.Quantize(i, x.data() + i * cols);
                for (int64_t t = 0; t < n; ++t) {
                  const int64_t i = spread ? 2 * t : t;
                  xq.push_back(quantized.Rows()[i]);
                  ASSERT_TRUE(xq.back().finite);
                  mine.push_back(QuantizeActivations(x.data() + i * cols, cols));
                }
                std::vector<float> y(static_cast<size_t>(n * rows), -7.0f);
                cpu::ProjectionScratch scratch;
                cpu::ProjectRows(w, 0, rows, nullptr, xq.data(), n, y.data(), rows, scratch);
                for (int64_t t = 0; t < n; ++t)
                  for (int64_t r = 0; r < rows; ++r) {
                    double expected = 0, magnitude = 0;
                    for (int64_t c = 0; c < cols; ++c) {
                      const double term =
                          reference::WeightAt(shape.format, test::StoredData(m, int4), m.scales.data(), rows, cols, g,
                                              r * cols + c) *
                          mine[t].q[c] * static_cast<double>(mine[t].scales[c / 32]);
                      expected += term;
                      magnitude += std::abs(term);
                    }
                    ASSERT_NEAR(y[t * rows + r], expected, 1e-6 * magnitude + 1e-9) << "token " << t << " row " << r;
                  }
              }
      }
  }
  cpu::ForceIsa(process_isa);
}

struct Comparison {
  double max_error = 0;     // over finite expected elements
  double max_expected = 0;
  double error_squares = 0, expected_squares = 0;
  double RelativeRms() const { return std::sqrt(error_squares / expected_squares); }
};

// The whole op (the process's ISA) against the reference with exact float32 activations.
// nan_token: a token whose first activation is NaN (-1: none); its outputs must all be NaN. shared: the last `shared`
// of the stacked experts are shared (the call is also checked against its routes written out).
Comparison RunOp(std::mt19937& rng, bool int4, int64_t experts, int64_t hidden, int64_t inter, int64_t tokens,
                 int64_t top_k, int64_t g, int64_t nan_token = -1, int64_t shared = 0) {
  const auto gate = test::QuantizeWeights(RandomWeights(rng, experts * inter, hidden, g), experts * inter, hidden, g,
                                          int4);
  const auto up = test::QuantizeWeights(RandomWeights(rng, experts * inter, hidden, g), experts * inter, hidden, g,
                                        int4);
  const auto down = test::QuantizeWeights(RandomWeights(rng, experts * hidden, inter, g), experts * hidden, inter, g,
                                          int4);
  auto x = test::RandomFloats(rng, static_cast<size_t>(tokens * hidden));
  if (nan_token >= 0) x[nan_token * hidden] = NAN;
  const std::vector<int32_t> ids = test::RoutedIds(rng, tokens, top_k, experts, shared);
  const auto weights = test::RandomFloats(rng, static_cast<size_t>(tokens * top_k), 0.0f, 2.0f);

  const MoeExpertsInputs in = test::IntExpertsInputs(int4, experts, hidden, inter, g, tokens, top_k);
  const MoeExpertsShape shape = ValidateMoeExperts(in, {g, int4 ? "int4" : "", shared});
  EXPECT_EQ(shape.format, Format(int4));
  const cpu::ExpertWeights ew = test::IntExpertWeights(gate, up, down, int4);
  std::vector<float> out(static_cast<size_t>(tokens * hidden), -5.0f);
  cpu::MoeExperts(test::Threads(), shape, x.data(), ids.data(), weights.data(), ew, out.data());
  const auto expected = reference::MoeExperts(shape, x.data(), ids.data(), weights.data(), ew);
  if (shared > 0) test::ExpectSameAsWrittenOutRoutes(shape, x.data(), ids.data(), weights.data(), ew, out, expected);
  Comparison result;
  for (size_t i = 0; i < out.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(out[i])) << "element " << i << " should be NaN, got " << out[i];
      continue;
    }
    result.max_error = std::max(result.max_error, std::abs(out[i] - expected[i]));
    result.error_squares += (out[i] - expected[i]) * (out[i] - expected[i]);
    result.expected_squares += expected[i] * expected[i];
    result.max_expected = std::max(result.max_expected, std::abs(expected[i]));
  }
  return result;
}

TEST(MoeExpertsInt, IntegerPathMatchesReferenceWithinActivationRounding) {
  // Any number of tokens per expert (one expert, top_k 1, so every token lands on it) takes the integer path (from
  // DenseProjection's many-token count on as whole DenseProjection calls); widths that are
  // not multiples of 32 or of G, odd ones for int4's half bytes, rows that leave short steps.
  std::mt19937 rng(53);
  double worst_rms = 0;
  for (bool int4 : {false, true})
    for (int64_t g : {32, 128})
      for (int64_t tokens : {1, 2, 3, 4, 5, 8, 9, 13, 16, 37}) {  // many tokens: whole calls (ExpertRunsWhole)
        for (auto [hidden, inter] : {std::pair<int64_t, int64_t>{64, 32}, {37, 45}, {200, 30}, {129, 71}, {300, 260}}) {
          SCOPED_TRACE(std::string(int4 ? "int4" : "int8") + " G " + std::to_string(g) + " tokens " +
                       std::to_string(tokens) + " hidden " + std::to_string(hidden) + " inter " +
                       std::to_string(inter));
          const Comparison c = RunOp(rng, int4, 1, hidden, inter, tokens, 1, g);
          // Activations rounded to 8 bits per 32 columns: about 1% rms through gate/up and down at these small
          // widths (docs/onnx-contract.md); a wrong weight, scale or nibble gives errors of order 100%.
          EXPECT_LE(c.RelativeRms(), 2e-2);
          EXPECT_LE(c.max_error, 4e-2 * c.max_expected);
          EXPECT_GT(c.max_expected, 0.0);
          worst_rms = std::max(worst_rms, c.RelativeRms());
        }
      }
  // Several experts with top-k routing; then ~27 scattered tokens on each of 3 experts (whole calls on gathered rows).
  const Comparison c = RunOp(rng, true, 6, 96, 64, 5, 3, 32);
  EXPECT_LE(c.RelativeRms(), 2e-2);
  for (bool int4 : {false, true}) {
    const Comparison scattered = RunOp(rng, int4, 3, 96, 64, 40, 2, 32);
    EXPECT_LE(scattered.RelativeRms(), 2e-2) << (int4 ? "int4" : "int8") << ", scattered tokens";
  }
  // Shared experts after the routed ones (every token on each, weight 1), decode- and prefill-sized.
  for (bool int4 : {false, true})
    for (int64_t shared : {1, 2})
      for (int64_t tokens : {1, 6, 24}) {  // 24: the shared experts as whole calls
        SCOPED_TRACE(std::string(int4 ? "int4" : "int8") + " shared " + std::to_string(shared) + " tokens " +
                     std::to_string(tokens));
        const Comparison s = RunOp(rng, int4, 4 + shared, 96, 64, tokens, 2, 32, -1, shared);
        EXPECT_LE(s.RelativeRms(), 2e-2);
        EXPECT_GT(s.max_expected, 0.0);
      }
  std::printf("worst relative rms error of the integer path over the grid: %.4f\n", std::max(worst_rms, c.RelativeRms()));
}

TEST(MoeExpertsInt, FloatDecodePathsAreExact) {
  // G not a multiple of 32, or activations holding a NaN: the weights are decoded to float32 and multiplied exactly.
  std::mt19937 rng(54);
  for (bool int4 : {false, true}) {
    for (int64_t tokens : {1, 3, 10}) {
      const Comparison c = RunOp(rng, int4, 2, 37, 21, tokens, 2, 16);
      EXPECT_LE(c.max_error, 1e-5 + 1e-4 * c.max_expected) << "G 16, " << tokens << " tokens";
    }
    // Token 1 holds a NaN: its outputs are NaN (checked in RunOp) and the others stay exact-path accurate, also
    // where the expert has enough tokens for whole DenseProjection calls (which refuse non-finite activations).
    for (int64_t tokens : {3, 20}) {
      const Comparison c = RunOp(rng, int4, 1, 64, 32, tokens, 1, 32, 1);
      EXPECT_LE(c.max_error, 1e-5 + 1e-4 * c.max_expected) << tokens << " tokens";
    }
  }
}

TEST(MoeExpertsInt, TokenResultDoesNotDependOnHowManyTokensShareItsExpert) {
  // Every token on an expert takes the integer path, its activations quantized on their own and its dot products
  // summed in the same order whichever block of four it falls in, so token 0's output is the same bits for any
  // number of tokens on its expert below DenseProjection's many-token count (the runtime compares MTP draft rows
  // across runs bit for bit), and again the same bits from that count on (whole DenseProjection calls: the panel or
  // AMX kernels), within float32 summation order of the one-token result across it. Widths with a partial last step
  // and a padded last group; G 32 and 128 (the two kernels of each ISA).
  for (bool int4 : {false, true})
    for (int64_t g : {32, 128}) {
      std::mt19937 rng(43);
      constexpr int64_t kHidden = 300, kInter = 200, kMaxTokens = 20;
      const auto gate = test::QuantizeWeights(RandomWeights(rng, kInter, kHidden, g), kInter, kHidden, g, int4);
      const auto up = test::QuantizeWeights(RandomWeights(rng, kInter, kHidden, g), kInter, kHidden, g, int4);
      const auto down = test::QuantizeWeights(RandomWeights(rng, kHidden, kInter, g), kHidden, kInter, g, int4);
      const auto x = test::RandomFloats(rng, kMaxTokens * kHidden);
      const cpu::ExpertWeights ew = test::IntExpertWeights(gate, up, down, int4);
      // (TokenZeroOnOneExpert sets the token dimensions.)
      const MoeExpertsInputs in = test::IntExpertsInputs(int4, 1, kHidden, kInter, g, 1, 1);
      // Whether an expert with this many tokens runs as whole DenseProjection calls (cpu/moe_whole_calls.h).
      MoeExpertsShape shape;
      shape.hidden = kHidden;
      shape.inter = kInter;
      shape.quant_block_size = g;
      shape.format = Format(int4);
      auto whole = [&](int64_t tokens) { return cpu::ExpertRunsWhole(shape, tokens); };
      std::vector<float> one, first;
      for (int64_t tokens = 1; tokens <= kMaxTokens; ++tokens) {
        SCOPED_TRACE(std::string(int4 ? "int4" : "int8") + " G " + std::to_string(g) + " tokens " +
                     std::to_string(tokens));
        const std::vector<float> token0 =
            test::TokenZeroOnOneExpert(in, {g, int4 ? "int4" : ""}, tokens, kHidden, x.data(), ew);
        if (tokens == 1) one = token0;
        if (tokens == 1 || whole(tokens) != whole(tokens - 1)) first = token0;
        ASSERT_TRUE(test::SameBits(token0, first)) << "against the first run on this side of the count";
        for (size_t i = 0; i < token0.size(); ++i)
          ASSERT_NEAR(token0[i], one[i], 1e-5 + 1e-5 * std::abs(one[i])) << "against the one-token run, element " << i;
      }
    }
}

TEST(MoeExpertsInt, ValidationRejectsBadFormatsScalesAndGroups) {
  MoeExpertsInputs in;
  in.hidden = {DType::kFloat32, {3, 65}};
  in.expert_ids = {DType::kInt32, {3, 2}};
  in.expert_weights = {DType::kFloat32, {3, 2}};
  in.gate_weights = {DType::kUInt8, {4, 40, 33}};
  in.up_weights = {DType::kUInt8, {4, 40, 33}};
  in.down_weights = {DType::kUInt8, {4, 65, 20}};
  in.has_gate_scales = in.has_up_scales = in.has_down_scales = true;
  in.gate_scales = {DType::kFloat16, {4, 40, 3}};
  in.up_scales = {DType::kFloat16, {4, 40, 3}};
  in.down_scales = {DType::kFloat16, {4, 65, 2}};
  const MoeExpertsShape ok = ValidateMoeExperts(in, {32, "int4"});
  EXPECT_EQ(ok.format, ExpertWeightFormat::kInt4);
  EXPECT_EQ(ok.hidden, 65);
  EXPECT_EQ(ok.inter, 40);
  using test::ExpectInputError;

  ExpectInputError([&] { ValidateMoeExperts(in, {32, "int2"}); },
                   {"attribute 'weight_format' is unknown", "\"int4\"", "got \"int2\""});
  ExpectInputError([&] { ValidateMoeExperts(in, {33, "int4"}); }, {"attribute 'quant_block_size'", "got 33"});
  auto bad = in;
  for (TensorDesc* d : {&bad.gate_weights, &bad.up_weights, &bad.down_weights}) d->dtype = DType::kInt8;
  ExpectInputError([&] { ValidateMoeExperts(bad, {32, "int4"}); },
                   {"'gate_weights' has the wrong element type for weight_format \"int4\"", "uint8", "got int8"});
  bad = in;
  bad.gate_weights.shape = bad.up_weights.shape = {4, 40, 65};
  ExpectInputError([&] { ValidateMoeExperts(bad, {32, "int4"}); }, {"'gate_weights'", "dimension 2 = 33"});
  bad = in;
  bad.down_weights.shape = {4, 65, 40};
  ExpectInputError([&] { ValidateMoeExperts(bad, {32, "int4"}); },
                   {"'down_weights' has the wrong shape", "expected [4, 65, 20]", "ceil(inter / 2)"});
  bad = in;
  bad.gate_scales.dtype = DType::kFloat32;
  ExpectInputError([&] { ValidateMoeExperts(bad, {32, "int4"}); },
                   {"'gate_scales' has the wrong element type", "expected float16", "got float"});
  bad = in;
  bad.up_scales.shape = {4, 2, 3};
  ExpectInputError([&] { ValidateMoeExperts(bad, {32, "int4"}); },
                   {"'up_scales' has the wrong shape", "expected [4, 40, 3]", "got [4, 2, 3]"});
  bad = in;
  bad.has_down_scales = false;
  ExpectInputError([&] { ValidateMoeExperts(bad, {32, "int4"}); },
                   {"'down_scales' is missing", "float16 scales", "int4 weights"});

  // int8: full-width rows; scales per row and group.
  MoeExpertsInputs i8 = in;
  i8.gate_weights = i8.up_weights = {DType::kInt8, {4, 40, 65}};
  i8.down_weights = {DType::kInt8, {4, 65, 40}};
  EXPECT_EQ(ValidateMoeExperts(i8, {32, ""}).format, ExpertWeightFormat::kInt8);
  i8.down_scales.shape = {4, 65, 1};
  ExpectInputError([&] { ValidateMoeExperts(i8, {32, ""}); },
                   {"'down_scales' has the wrong shape", "expected [4, 65, 2]"});
  // uint8 without "int4" stays FP8, which wants float block scales.
  ExpectInputError([&] { ValidateMoeExperts(in, {32, ""}); }, {"'gate_weights'", "dimension 2 = 65"});
}

TEST(IsaDispatch, FollowsTheEnvironmentAndTheCpu) {
  const char* forced = std::getenv("GLM_OPS_ISA");
  const cpu::Isa expected = forced && std::string(forced) == "avx2" ? cpu::Isa::kAvx2
                            : cpu::CpuHasAvx512Kernels()           ? cpu::Isa::kAvx512
                                                                   : cpu::Isa::kAvx2;
  EXPECT_EQ(cpu::ActiveIsa(), expected);
  EXPECT_STREQ(cpu::ActiveExpertKernels().isa, cpu::IsaName(expected));
  EXPECT_STREQ(cpu::ExpertKernelsFor(cpu::Isa::kAvx2).isa, "avx2");
  if (cpu::CpuHasAvx512Kernels()) EXPECT_STREQ(cpu::ExpertKernelsFor(cpu::Isa::kAvx512).isa, "avx512");
}

}  // namespace
}  // namespace glm_ops
