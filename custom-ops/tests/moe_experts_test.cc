// MoeExperts against the reference (src/reference: every weight dequantised by its formula, triple loops in
// double) for float32, bf16 and block-FP8 weights, with widths that are not multiples of 8 or of the quant block
// (cropped edge blocks), and several token counts and routings.
#include <gtest/gtest.h>

#include <xmmintrin.h>

#include <cmath>
#include <cstring>

#include "cpu/moe_experts.h"
#include "cpu/moe_whole_calls.h"
#include "reference/moe_experts.h"
#include "reference/weight_decode.h"
#include "moe_shared_routes.h"
#include "moe_token_bits.h"
#include "moe_tolerance.h"
#include "test_support.h"

namespace glm_ops {
namespace {

// One stacked weight tensor [E, rows, cols] in some format (FP8 with its block scales).
struct Stacked {
  std::vector<float> f32;
  std::vector<uint16_t> bf16;
  std::vector<uint8_t> fp8;
  std::vector<float> scales;

  const void* Data(ExpertWeightFormat f) const {
    return f == ExpertWeightFormat::kFloat32 ? static_cast<const void*>(f32.data())
           : f == ExpertWeightFormat::kBFloat16 ? static_cast<const void*>(bf16.data())
                                                : static_cast<const void*>(fp8.data());
  }
};

Stacked MakeStacked(std::mt19937& rng, ExpertWeightFormat format, int64_t experts, int64_t rows, int64_t cols,
                    int64_t qb) {
  Stacked s;
  const int64_t count = experts * rows * cols;
  if (format == ExpertWeightFormat::kFloat32) {
    s.f32 = test::RandomFloats(rng, count, -0.2f, 0.2f);
  } else if (format == ExpertWeightFormat::kBFloat16) {
    const auto values = test::RandomFloats(rng, count, -0.2f, 0.2f);
    for (int64_t i = 0; i < count; ++i) {
      uint32_t bits;
      std::memcpy(&bits, &values[i], 4);
      s.bf16.push_back(static_cast<uint16_t>(bits >> 16));
    }
  } else {
    std::uniform_int_distribution<int> byte(0, 255);
    const int64_t srows = (rows + qb - 1) / qb, scols = (cols + qb - 1) / qb;
    s.scales = test::RandomFloats(rng, experts * srows * scols, 0.001f, 0.02f);
    for (int64_t i = 0; i < count; ++i) {
      uint8_t bits;
      // Exponent field <= 7 (|value| < 2, subnormals included) keeps sums well conditioned so float32 rounding
      // stays far below the tolerance; DecodesEveryE4M3Code covers the remaining codes.
      do bits = static_cast<uint8_t>(byte(rng));
      while (((bits >> 3) & 0xF) > 7);
      s.fp8.push_back(bits);
    }
  }
  return s;
}

// nan_codes: FP8 codes (0x7F / 0xFF) planted at these flat indices of the gate weights. shared: the last `shared`
// of the `experts` stacked experts are shared (the call is also checked against its routes written out).
void RunCase(std::mt19937& rng, ExpertWeightFormat format, int64_t experts, int64_t hidden, int64_t inter,
             int64_t tokens, int64_t top_k, int64_t qb, const std::vector<int64_t>& nan_codes = {},
             int64_t shared = 0) {
  SCOPED_TRACE("format " + std::to_string(static_cast<int>(format)) + " hidden " + std::to_string(hidden) +
               " inter " + std::to_string(inter) + " tokens " + std::to_string(tokens) + " qb " + std::to_string(qb) +
               " shared " + std::to_string(shared));
  Stacked gate = MakeStacked(rng, format, experts, inter, hidden, qb);
  for (size_t i = 0; i < nan_codes.size(); ++i) {
    gate.fp8[nan_codes[i]] = i % 2 ? 0xFF : 0x7F;  // the reference decodes both to NaN
  }
  const Stacked up = MakeStacked(rng, format, experts, inter, hidden, qb);
  const Stacked down = MakeStacked(rng, format, experts, hidden, inter, qb);
  const auto x = test::RandomFloats(rng, tokens * hidden);
  const std::vector<int32_t> ids = test::RoutedIds(rng, tokens, top_k, experts, shared);
  const auto w = test::RandomFloats(rng, tokens * top_k, 0.0f, 2.0f);

  const DType dtype = format == ExpertWeightFormat::kFloat32    ? DType::kFloat32
                      : format == ExpertWeightFormat::kBFloat16 ? DType::kBFloat16
                                                                : DType::kFloat8E4M3FN;
  const bool fp8 = format == ExpertWeightFormat::kFloat8E4M3;
  MoeExpertsInputs in;
  in.hidden = {DType::kFloat32, {tokens, hidden}};
  in.expert_ids = {DType::kInt32, {tokens, top_k}};
  in.expert_weights = {DType::kFloat32, {tokens, top_k}};
  in.gate_weights = {dtype, {experts, inter, hidden}};
  in.up_weights = {dtype, {experts, inter, hidden}};
  in.down_weights = {dtype, {experts, hidden, inter}};
  in.has_gate_scales = in.has_up_scales = in.has_down_scales = fp8;
  const int64_t ih = (inter + qb - 1) / qb, hh = (hidden + qb - 1) / qb;
  in.gate_scales = {DType::kFloat32, {experts, ih, hh}};
  in.up_scales = {DType::kFloat32, {experts, ih, hh}};
  in.down_scales = {DType::kFloat32, {experts, hh, ih}};
  const MoeExpertsShape shape = ValidateMoeExperts(in, {qb, "", shared});
  CheckExpertIds(shape, ids.data());

  cpu::ExpertWeights ew{gate.Data(format), up.Data(format), down.Data(format),
                        fp8 ? gate.scales.data() : nullptr, fp8 ? up.scales.data() : nullptr,
                        fp8 ? down.scales.data() : nullptr};
  std::vector<float> out(static_cast<size_t>(tokens * hidden), -5.0f);
  cpu::MoeExperts(test::Threads(), shape, x.data(), ids.data(), w.data(), ew, out.data());
  const auto expected = reference::MoeExperts(shape, x.data(), ids.data(), w.data(), ew);
  if (shared > 0) test::ExpectSameAsWrittenOutRoutes(shape, x.data(), ids.data(), w.data(), ew, out, expected);
  const bool amx = test::MoeBf16MayUseAmx(format);
  for (size_t i = 0; i < out.size(); ++i) {
    if (std::isnan(expected[i])) {
      ASSERT_TRUE(std::isnan(out[i])) << "element " << i << " should be NaN, got " << out[i];
      continue;
    }
    ASSERT_NEAR(out[i], expected[i], test::MoeOutputTolerance(expected, hidden, i, amx)) << "element " << i;
  }
}

TEST(MoeExperts, Float32MatchesReference) {
  std::mt19937 rng(31);
  for (int64_t tokens : {1, 2, 7}) RunCase(rng, ExpertWeightFormat::kFloat32, 4, 40, 24, tokens, 2, 128);
  RunCase(rng, ExpertWeightFormat::kFloat32, 3, 37, 13, 5, 3, 128);  // widths not multiples of 8
  RunCase(rng, ExpertWeightFormat::kFloat32, 2, 600, 530, 3, 1, 128);  // more than one column block
}

TEST(MoeExperts, BFloat16MatchesReference) {
  std::mt19937 rng(32);
  for (int64_t tokens : {1, 4, 9}) RunCase(rng, ExpertWeightFormat::kBFloat16, 5, 48, 32, tokens, 2, 128);
  RunCase(rng, ExpertWeightFormat::kBFloat16, 3, 29, 19, 6, 2, 128);
  RunCase(rng, ExpertWeightFormat::kBFloat16, 2, 520, 70, 2, 2, 128);
  // Experts with 40 tokens and more: whole DenseProjection calls on AVX512_BF16 without AMX (cpu/moe_whole_calls.h),
  // beside experts of a few tokens on the op's own kernels; a shared expert over all 50 tokens.
  RunCase(rng, ExpertWeightFormat::kBFloat16, 3, 300, 70, 60, 2, 128);
  RunCase(rng, ExpertWeightFormat::kBFloat16, 4, 48, 32, 50, 1, 128, {}, 1);
  RunCase(rng, ExpertWeightFormat::kBFloat16, 1, 300, 70, 70, 1, 128);  // 70 on one expert: whole on AVX2 too (64)
}

TEST(MoeExperts, BlockFp8WithCroppedEdgeBlocksMatchesReference) {
  std::mt19937 rng(33);
  // 200 and 136 are not multiples of 128: the last scale block in each direction is cropped.
  for (int64_t tokens : {1, 3, 10}) RunCase(rng, ExpertWeightFormat::kFloat8E4M3, 4, 200, 136, tokens, 2, 128);
  // Small blocks: many scales per row, edge blocks of 4 (37 = 2*16 + 5, 21 = 16 + 5) and widths not multiples of 8.
  RunCase(rng, ExpertWeightFormat::kFloat8E4M3, 3, 37, 21, 5, 3, 16);  // >2 tokens per expert: decoded-tile path
  RunCase(rng, ExpertWeightFormat::kFloat8E4M3, 6, 37, 21, 1, 2, 16);  // 1 token per expert: in-register path
  RunCase(rng, ExpertWeightFormat::kFloat8E4M3, 4, 37, 21, 2, 1, 16);  // up to 2 tokens per expert
  RunCase(rng, ExpertWeightFormat::kFloat8E4M3, 2, 600, 260, 2, 2, 128);
}

TEST(MoeExperts, SharedExpertsRunOnEveryTokenWithWeightOne) {
  // One or two shared experts after the routed ones, each format; 1 token (decode) to 9 (every shared expert then
  // has 5 or more tokens: the tile and AMX paths), widths not multiples of 8, cropped FP8 blocks.
  std::mt19937 rng(39);
  for (int64_t shared : {1, 2})
    for (int64_t tokens : {1, 3, 9}) {
      RunCase(rng, ExpertWeightFormat::kFloat32, 4 + shared, 40, 24, tokens, 2, 128, {}, shared);
      RunCase(rng, ExpertWeightFormat::kBFloat16, 5 + shared, 48, 32, tokens, 2, 128, {}, shared);
      RunCase(rng, ExpertWeightFormat::kFloat8E4M3, 4 + shared, 37, 21, tokens, 2, 16, {}, shared);
      RunCase(rng, ExpertWeightFormat::kBFloat16, 3 + shared, 29, 19, tokens, 1, 128, {}, shared);
    }
}

TEST(MoeExperts, TokenCountsAroundTheBlockingEdgesMatchReference) {
  // One expert, so every token lands on it: 1-4 tokens take the register-decoded path, 5 and more the 12-row tile
  // with token blocks of 4 and 3 (and 2 for 5). 30 rows and 44 inner rows leave short tiles; widths not multiples
  // of 8 exercise the scalar tails of both paths.
  std::mt19937 rng(35);
  for (int64_t tokens : {3, 4, 5, 6, 7, 9, 13}) {
    RunCase(rng, ExpertWeightFormat::kFloat8E4M3, 1, 30, 44, tokens, 1, 16);
    RunCase(rng, ExpertWeightFormat::kBFloat16, 1, 30, 44, tokens, 1, 128);
    RunCase(rng, ExpertWeightFormat::kFloat32, 1, 37, 21, tokens, 1, 128);
  }
  // More than one 256-column tile segment, with a ragged last one and cropped scale blocks.
  RunCase(rng, ExpertWeightFormat::kFloat8E4M3, 2, 300, 100, 11, 2, 128);
}

TEST(MoeExperts, StreamedRowStepsAndColumnEdgesMatchReference) {
  // The register-decoded path (1-4 tokens per expert, short rows read one at a time) on one expert, both ISAs:
  // float32/bf16 in 8-column steps plus scalars; FP8's 157 = 2 * 64 + 16 + 8 + 5 columns take AVX-512's unrolled
  // 4 x 16 steps (1-2 tokens; 2 x 16 for 3-4), a single 16-column vector, an 8-column one and scalars (AVX2: 4 x 8
  // steps, single 8s, scalars); the down projection's 19 columns never fill an unrolled step. FP8 blocks of 24 and
  // 72 columns cut the row into segments that end in every kind of step. 157 down rows span several work items.
  std::mt19937 rng(37);
  for (int64_t tokens : {1, 2, 3, 4}) {
    RunCase(rng, ExpertWeightFormat::kBFloat16, 1, 157, 19, tokens, 1, 128);
    RunCase(rng, ExpertWeightFormat::kFloat32, 1, 157, 19, tokens, 1, 128);
    RunCase(rng, ExpertWeightFormat::kFloat8E4M3, 1, 157, 19, tokens, 1, 24);
    RunCase(rng, ExpertWeightFormat::kFloat8E4M3, 1, 157, 19, tokens, 1, 72);
    // Rows of 4 KiB and more are read side by side (4 or 2 rows per step): bf16 4202 B, float32 4124 B and FP8
    // 4100 B gate/up rows, ragged ends, next to short down rows that stream.
    RunCase(rng, ExpertWeightFormat::kBFloat16, 1, 2101, 19, tokens, 1, 128);
    RunCase(rng, ExpertWeightFormat::kFloat32, 1, 1031, 19, tokens, 1, 128);
    RunCase(rng, ExpertWeightFormat::kFloat8E4M3, 1, 4100, 19, tokens, 1, 128);
  }
}

TEST(MoeExperts, FloatTokenResultDoesNotDependOnHowManyTokensShareItsExpert) {
  // float32 / bf16: 1-4 tokens on an expert take the register-decoded path, more the decoded tile; both sum a row in
  // the same order, so token 0's output is the same bits whatever the batch (the runtime compares MTP draft rows
  // across runs bit for bit; those run fp32 artifacts). bf16 experts with at least 40 tokens, where DenseProjection
  // runs them on its float32 GEMM (ExpertRunsWhole: AVX512_BF16 without AMX), take whole DenseProjection calls, another
  // summation order but again one whatever the batch: the same bits on each side of that count, and within float32
  // rounding across it. 21 inner columns keep bf16 off the AMX kernel, which needs 32 (its own test:
  // MoeExpertsAmx.TokenResultIsTheSameBitsOnEachSideOfTheAmxCount). 300 columns = two tile segments + a scalar tail;
  // 21 inner columns end in a tail too. 2101 columns: rows of 4 KiB and more, read side by side on the
  // register-decoded path.
  for (int64_t hidden : {300, 2101})
  for (ExpertWeightFormat format : {ExpertWeightFormat::kFloat32, ExpertWeightFormat::kBFloat16}) {
    std::mt19937 rng(41);
    constexpr int64_t kInter = 21, kMaxTokens = 42;
    const Stacked gate = MakeStacked(rng, format, 1, kInter, hidden, 128);
    const Stacked up = MakeStacked(rng, format, 1, kInter, hidden, 128);
    const Stacked down = MakeStacked(rng, format, 1, hidden, kInter, 128);
    const auto x = test::RandomFloats(rng, kMaxTokens * hidden);
    const DType dtype = format == ExpertWeightFormat::kFloat32 ? DType::kFloat32 : DType::kBFloat16;
    cpu::ExpertWeights ew{gate.Data(format), up.Data(format), down.Data(format), nullptr, nullptr, nullptr};
    MoeExpertsInputs in;
    in.gate_weights = {dtype, {1, kInter, hidden}};
    in.up_weights = {dtype, {1, kInter, hidden}};
    in.down_weights = {dtype, {1, hidden, kInter}};
    in.gate_scales = in.up_scales = in.down_scales = {DType::kFloat32, {1, 1, 1}};
    MoeExpertsShape shape;
    shape.hidden = hidden;
    shape.inter = kInter;
    shape.format = format;
    auto whole = [&](int64_t tokens) { return cpu::ExpertRunsWhole(shape, tokens); };
    if (format == ExpertWeightFormat::kFloat32) ASSERT_FALSE(whole(kMaxTokens));
    std::vector<float> one, first;
    for (int64_t tokens = 1; tokens <= kMaxTokens; ++tokens) {
      SCOPED_TRACE("format " + std::to_string(static_cast<int>(format)) + " hidden " + std::to_string(hidden) +
                   " tokens " + std::to_string(tokens));
      const std::vector<float> token0 = test::TokenZeroOnOneExpert(in, {128}, tokens, hidden, x.data(), ew);
      if (tokens == 1) one = token0;
      if (tokens == 1 || whole(tokens) != whole(tokens - 1)) first = token0;
      ASSERT_TRUE(test::SameBits(token0, first)) << "against the first run on this side of the count";
      // Two float32 summation orders over up to 2101 columns and back through 21: within 1e-4 (|outputs| ~ 1).
      for (size_t i = 0; i < token0.size(); ++i)
        ASSERT_NEAR(token0[i], one[i], 1e-4 + 1e-4 * std::abs(one[i])) << "against the one-token run, element " << i;
    }
  }
}

TEST(MoeExperts, Fp8NanCodesGiveNanOutputsLikeTheDequantisedProduct) {
  // A NaN code in a gate row makes that inter unit NaN for every token on the expert, and through the down
  // projection every output of those tokens. Planted in the vector part (column 40), the scalar tail (column 36 of
  // a 37-wide row) and late in a row (column 96 of 100), for the register-decoded (1-4 tokens) and tiled paths.
  std::mt19937 rng(36);
  const int64_t hidden = 37, inter = 21;
  RunCase(rng, ExpertWeightFormat::kFloat8E4M3, 3, hidden, inter, 1, 1, 16, {0 * inter * hidden + 5 * hidden + 30});
  RunCase(rng, ExpertWeightFormat::kFloat8E4M3, 3, hidden, inter, 2, 1, 16, {1 * inter * hidden + 7 * hidden + 36});
  RunCase(rng, ExpertWeightFormat::kFloat8E4M3, 3, hidden, inter, 9, 1, 16, {2 * inter * hidden + 3 * hidden + 8});
  RunCase(rng, ExpertWeightFormat::kFloat8E4M3, 1, 100, 24, 6, 1, 32, {10 * 100 + 96, 23 * 100 + 40});
  RunCase(rng, ExpertWeightFormat::kFloat8E4M3, 1, 100, 24, 3, 1, 32, {10 * 100 + 96, 23 * 100 + 40});
}

// Runs body with the MXCSR flush-to-zero and denormals-are-zero bits set (as a host process may), restoring them.
template <typename Body>
void WithFlushToZero(Body&& body) {
  const unsigned saved = _mm_getcsr();
  _mm_setcsr(saved | 0x8040u);  // FTZ (bit 15) | DAZ (bit 6)
  body();
  _mm_setcsr(saved);
}

TEST(MoeExperts, DecodesEveryE4M3Code) {
  // All 254 non-NaN codes through the vector decoder (as a 1x1 expert row against unit activations), compared with
  // the definition.
  std::vector<uint8_t> codes;
  for (int b = 0; b < 256; ++b)
    if ((b & 0x7F) != 0x7F) codes.push_back(static_cast<uint8_t>(b));
  const int64_t hidden = static_cast<int64_t>(codes.size());
  // gate row = the codes (scale 1); up row = code 0x38 (1.0) everywhere; down = 1.0; x = one-hot per column.
  // Checking one column at a time isolates each code: gate . x = decode(code).
  std::vector<uint8_t> up(codes.size(), 0x38), down(static_cast<size_t>(hidden), 0x38);
  std::vector<float> gate_scales{1.0f, 1.0f}, up_scales{1.0f, 1.0f}, down_scales{1.0f, 1.0f};
  MoeExpertsInputs in;
  in.hidden = {DType::kFloat32, {1, hidden}};
  in.expert_ids = {DType::kInt32, {1, 1}};
  in.expert_weights = {DType::kFloat32, {1, 1}};
  in.gate_weights = {DType::kUInt8, {1, 1, hidden}};
  in.up_weights = {DType::kUInt8, {1, 1, hidden}};
  in.down_weights = {DType::kUInt8, {1, hidden, 1}};
  in.has_gate_scales = in.has_up_scales = in.has_down_scales = true;
  in.gate_scales = {DType::kFloat32, {1, 1, 2}};
  in.up_scales = {DType::kFloat32, {1, 1, 2}};
  in.down_scales = {DType::kFloat32, {1, 2, 1}};
  const MoeExpertsShape shape = ValidateMoeExperts(in, {128});
  const int32_t id = 0;
  const float weight = 1.0f;
  auto check = [&](int64_t c) {
    std::vector<float> x(static_cast<size_t>(hidden), 0.0f);
    x[c] = 1.0f;
    std::vector<float> out(static_cast<size_t>(hidden));
    cpu::MoeExperts(test::Threads(), shape, x.data(), &id, &weight,
                    {codes.data(), up.data(), down.data(), gate_scales.data(), up_scales.data(), down_scales.data()},
                    out.data());
    const double g = reference::E4M3(codes[c]);
    const double expected = g / (1.0 + std::exp(-g)) * 1.0;  // up . x = 1, down = 1
    ASSERT_NEAR(out[0], expected, 1e-6 * (1.0 + std::abs(expected))) << "code " << int(codes[c]);
  };
  for (int64_t c = 0; c < hidden; ++c) check(c);
  // Subnormal codes (exponent field 0) must survive a host that flushes float32 denormals: the decoder never
  // produces a float32 denormal for them.
  WithFlushToZero([&] {
    for (int64_t c = 0; c < hidden; ++c)
      if ((codes[c] & 0x78) == 0) check(c);
  });
}

TEST(MoeExpertsValidation, RejectsBadTypesShapesAndIds) {
  MoeExpertsInputs in;
  in.hidden = {DType::kFloat32, {3, 64}};
  in.expert_ids = {DType::kInt32, {3, 2}};
  in.expert_weights = {DType::kFloat32, {3, 2}};
  in.gate_weights = {DType::kFloat8E4M3FN, {4, 200, 64}};
  in.up_weights = {DType::kFloat8E4M3FN, {4, 200, 64}};
  in.down_weights = {DType::kFloat8E4M3FN, {4, 64, 200}};
  in.has_gate_scales = in.has_up_scales = in.has_down_scales = true;
  in.gate_scales = {DType::kFloat32, {4, 2, 1}};
  in.up_scales = {DType::kFloat32, {4, 2, 1}};
  in.down_scales = {DType::kFloat32, {4, 1, 2}};
  const MoeExpertsShape ok = ValidateMoeExperts(in, {128});
  EXPECT_EQ(ok.inter, 200);
  using test::ExpectInputError;

  auto bad = in;
  bad.up_weights.dtype = DType::kBFloat16;
  ExpectInputError([&] { ValidateMoeExperts(bad, {128}); },
                   {"MoeExperts: input 'up_weights' has a different element type from gate_weights",
                    "expected float8e4m3fn", "got bfloat16"});
  bad = in;
  bad.has_down_scales = false;
  ExpectInputError([&] { ValidateMoeExperts(bad, {128}); }, {"input 'down_scales' is missing", "got no input"});
  bad = in;
  bad.gate_scales.shape = {4, 1, 1};
  ExpectInputError([&] { ValidateMoeExperts(bad, {128}); },
                   {"'gate_scales' has the wrong shape", "expected [4, 2, 1]", "got [4, 1, 1]"});
  bad = in;
  for (TensorDesc* d : {&bad.gate_weights, &bad.up_weights, &bad.down_weights}) d->dtype = DType::kBFloat16;
  ExpectInputError([&] { ValidateMoeExperts(bad, {128}); }, {"'gate_scales' is given for non-FP8 weights"});
  bad = in;
  for (TensorDesc* d : {&bad.gate_weights, &bad.up_weights, &bad.down_weights}) d->dtype = DType::kFloat16;
  ExpectInputError([&] { ValidateMoeExperts(bad, {128}); }, {"'gate_weights' has an unsupported element type", "got float16"});
  bad = in;
  bad.down_weights.shape = {4, 200, 64};
  ExpectInputError([&] { ValidateMoeExperts(bad, {128}); },
                   {"'down_weights' has the wrong shape", "expected [4, 64, 200]", "got [4, 200, 64]"});
  bad = in;
  bad.gate_weights.shape = {4, 200, 63};
  ExpectInputError([&] { ValidateMoeExperts(bad, {128}); }, {"'gate_weights'", "dimension 2 = 64 (hidden_size"});
  bad = in;
  bad.expert_weights.shape = {3, 1};
  ExpectInputError([&] { ValidateMoeExperts(bad, {128}); }, {"'expert_weights'", "dimension 1 = 2 (top_k"});
  bad = in;
  bad.expert_ids.dtype = DType::kInt64;
  ExpectInputError([&] { ValidateMoeExperts(bad, {128}); }, {"'expert_ids'", "expected int32", "got int64"});
  ExpectInputError([&] { ValidateMoeExperts(in, {100}); }, {"attribute 'quant_block_size'", "got 100"});
  const std::vector<int32_t> ids{0, 1, 2, 3, 4, 0};
  ExpectInputError([&] { CheckExpertIds(ok, ids.data()); },
                   {"'expert_ids' holds an id outside the routed experts", "[0, 4)", "expert_ids[2, 0] = 4"});
  // Shared experts: the last ones of the stack; routed ids may not name them, and one routed expert must remain.
  const MoeExpertsShape shared = ValidateMoeExperts(in, {128, "", 1});
  EXPECT_EQ(shared.RoutedExperts(), 3);
  const std::vector<int32_t> routed_ids{0, 1, 2, 0, 1, 2};
  CheckExpertIds(shared, routed_ids.data());
  const std::vector<int32_t> naming_shared{0, 1, 2, 3, 1, 2};
  ExpectInputError([&] { CheckExpertIds(shared, naming_shared.data()); },
                   {"holds an id outside the routed experts", "[0, 3) (the last 1 stacked experts are shared)",
                    "expert_ids[1, 1] = 3"});
  ExpectInputError([&] { ValidateMoeExperts(in, {128, "", 4}); },
                   {"attribute 'shared_experts' leaves no routed expert", "fewer than the 4 stacked experts", "got 4"});
  ExpectInputError([&] { ValidateMoeExperts(in, {128, "", -1}); },
                   {"attribute 'shared_experts' is out of range", "got -1"});
}

}  // namespace
}  // namespace glm_ops
