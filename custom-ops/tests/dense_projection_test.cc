// DenseProjection: the CPU kernel against the reference (src/reference: every weight dequantised by its formula,
// sums in double) on grids of token counts that cross both CPU paths (row projection below 64 tokens, blocked GEMM
// from 64, with partial 6-token blocks; the row projection is also run alone at every count), widths that are not multiples of 8, 16 or the quant block (cropped FP8 edge blocks), every weight format
// of this build; bf16 weights against a float32 GEMM of the same values (the result ONNX Gemm gives on a float32
// copy); and the validation's errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "common/dense_projection_validation.h"
#include "cpu/dense_projection.h"
#include "reference/dense_projection.h"
#include "reference/weight_decode.h"
#include "test_support.h"

namespace glm_ops {
namespace {

const char* Name(ExpertWeightFormat f) {
  return f == ExpertWeightFormat::kFloat32 ? "float32" : f == ExpertWeightFormat::kBFloat16 ? "bf16" : "fp8";
}

DType DTypeOf(ExpertWeightFormat f) {
  return f == ExpertWeightFormat::kFloat32 ? DType::kFloat32
         : f == ExpertWeightFormat::kBFloat16 ? DType::kBFloat16
                                               : DType::kFloat8E4M3FN;
}

uint16_t TruncateToBf16(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  return static_cast<uint16_t>(bits >> 16);
}

// A [out, in] weight in one format (FP8 with its block scales).
struct Weight {
  std::vector<float> f32;
  std::vector<uint16_t> bf16;
  std::vector<uint8_t> fp8;
  std::vector<float> scales;

  DenseWeight View(ExpertWeightFormat f) const {
    if (f == ExpertWeightFormat::kFloat32) return {f32.data(), nullptr};
    if (f == ExpertWeightFormat::kBFloat16) return {bf16.data(), nullptr};
    return {fp8.data(), scales.data()};
  }
};

Weight MakeWeight(std::mt19937& rng, ExpertWeightFormat format, int64_t out, int64_t in, int64_t qb) {
  Weight w;
  const int64_t count = out * in;
  if (format == ExpertWeightFormat::kFloat32) {
    w.f32 = test::RandomFloats(rng, count, -0.2f, 0.2f);
  } else if (format == ExpertWeightFormat::kBFloat16) {
    for (float v : test::RandomFloats(rng, count, -0.2f, 0.2f)) w.bf16.push_back(TruncateToBf16(v));
  } else {
    std::uniform_int_distribution<int> byte(0, 255);
    w.scales = test::RandomFloats(rng, ((out + qb - 1) / qb) * ((in + qb - 1) / qb), 0.001f, 0.02f);
    for (int64_t i = 0; i < count; ++i) {
      uint8_t bits;
      do bits = static_cast<uint8_t>(byte(rng));  // every code but NaN (planted separately)
      while ((bits & 0x7F) == 0x7F);
      w.fp8.push_back(bits);
    }
  }
  return w;
}

DenseProjectionInputs Inputs(ExpertWeightFormat format, int64_t tokens, int64_t in, int64_t out, int64_t qb) {
  DenseProjectionInputs i;
  i.input = {DType::kFloat32, {tokens, in}};
  i.weight = {DTypeOf(format), {out, in}};
  i.has_scales = format == ExpertWeightFormat::kFloat8E4M3;
  if (i.has_scales) i.scales = {DType::kFloat32, {(out + qb - 1) / qb, (in + qb - 1) / qb}};
  return i;
}

DenseProjectionAttributes Attributes(int64_t qb) {
  DenseProjectionAttributes a;
  a.quant_block_size = qb;
  return a;
}

// Runs the CPU kernel and the reference; nan_codes: flat weight indices that hold an FP8 NaN code.
void RunCase(std::mt19937& rng, ExpertWeightFormat format, int64_t tokens, int64_t in, int64_t out, int64_t qb,
             const std::vector<int64_t>& nan_codes = {}) {
  SCOPED_TRACE(std::string(Name(format)) + " T " + std::to_string(tokens) + " in " + std::to_string(in) + " out " +
               std::to_string(out) + " qb " + std::to_string(qb));
  Weight w = MakeWeight(rng, format, out, in, qb);
  for (size_t i = 0; i < nan_codes.size(); ++i) w.fp8[nan_codes[i]] = i % 2 ? 0xFF : 0x7F;
  const std::vector<float> x = test::RandomFloats(rng, tokens * in);
  const DenseProjectionShape shape = ValidateDenseProjection(Inputs(format, tokens, in, out, qb), Attributes(qb));
  const std::vector<double> expected = reference::DenseProjection(shape, x.data(), w.View(format));
  for (bool by_rows : {false, true}) {
  SCOPED_TRACE(by_rows ? "row-projection path" : "DenseProjection");
  std::vector<float> y(static_cast<size_t>(tokens * out), -7.0f);
  if (by_rows)
    cpu::DenseProjectionByRows(test::Threads(), shape, x.data(), w.View(format), y.data());
  else
    cpu::DenseProjection(test::Threads(), shape, x.data(), w.View(format), y.data());
  // Tolerance: float32 summation error grows with the sum of |terms| (weights dequantised by the reference's
  // formula); the reference sums in double.
  const DenseWeight view = w.View(format);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t n = 0; n < out; ++n) {
      const size_t i = static_cast<size_t>(t * out + n);
      if (std::isnan(expected[i])) {
        ASSERT_TRUE(std::isnan(y[i])) << "token " << t << " row " << n << " should be NaN, got " << y[i];
        continue;
      }
      double magnitude = 0;
      for (int64_t k = 0; k < in; ++k)
        magnitude += std::fabs(reference::WeightAt(format, view.data, view.scales, out, in, qb, n * in + k) *
                               x[t * in + k]);
      ASSERT_NEAR(y[i], expected[i], 1e-6 * magnitude + 1e-9) << "token " << t << " row " << n;
    }
  }
}

const ExpertWeightFormat kFormats[] = {ExpertWeightFormat::kFloat32, ExpertWeightFormat::kBFloat16,
                                       ExpertWeightFormat::kFloat8E4M3};

TEST(DenseProjection, MatchesReferenceOnTheTokenGrid) {
  std::mt19937 rng(13);
  for (ExpertWeightFormat f : kFormats)
    for (int64_t tokens : {1, 3, 8, 33, 64, 71}) {
      RunCase(rng, f, tokens, 200, 61, 64);   // odd out, in not a multiple of the block or of 16
      RunCase(rng, f, tokens, 37, 29, 8);     // in not a multiple of 8: scalar tails in every path
    }
}

TEST(DenseProjection, MatchesReferenceAtPrefillLength) {
  std::mt19937 rng(14);
  for (ExpertWeightFormat f : kFormats) RunCase(rng, f, 512, 300, 45, 128);  // cropped FP8 edge blocks both ways
}

TEST(DenseProjection, MatchesReferenceAcrossSeveralColumnChunks) {
  std::mt19937 rng(15);
  // in > 2 x 256 (the GEMM's panel width) and > the row projection's 256-column tile; out over several work items.
  for (ExpertWeightFormat f : kFormats)
    for (int64_t tokens : {2, 7, 20, 65}) RunCase(rng, f, tokens, 777, 131, 128);
}

TEST(DenseProjection, Fp8NanCodesGiveNanInTheirRowOnly) {
  std::mt19937 rng(16);
  for (int64_t tokens : {1, 5, 12, 64})
    RunCase(rng, ExpertWeightFormat::kFloat8E4M3, tokens, 300, 40, 128, {5, 300 * 17 + 299});
}

TEST(DenseProjection, ZeroTokensWriteNothing) {
  std::mt19937 rng(17);
  const Weight w = MakeWeight(rng, ExpertWeightFormat::kBFloat16, 4, 16, 128);
  const DenseProjectionShape shape =
      ValidateDenseProjection(Inputs(ExpertWeightFormat::kBFloat16, 0, 16, 4, 128), Attributes(128));
  EXPECT_EQ(shape.tokens, 0);
  cpu::DenseProjection(test::Threads(), shape, nullptr, w.View(ExpertWeightFormat::kBFloat16), nullptr);
}

// bf16 weights give what ONNX Gemm gives on their float32 copy (today's graphs), up to float32 summation order: the
// expected values are a plain float32 dot product over the widened weights, not the reference.
TEST(DenseProjection, BFloat16MatchesFloat32GemmOfTheSameValues) {
  std::mt19937 rng(18);
  const int64_t in = 1000, out = 37;
  for (int64_t tokens : {1, 4, 9, 64, 100}) {
    const Weight w = MakeWeight(rng, ExpertWeightFormat::kBFloat16, out, in, 128);
    const std::vector<float> x = test::RandomFloats(rng, tokens * in);
    std::vector<float> widened(w.bf16.size());
    for (size_t i = 0; i < widened.size(); ++i) {
      const uint32_t bits = uint32_t{w.bf16[i]} << 16;
      std::memcpy(&widened[i], &bits, 4);
    }
    const DenseProjectionShape shape =
        ValidateDenseProjection(Inputs(ExpertWeightFormat::kBFloat16, tokens, in, out, 128), Attributes(128));
    std::vector<float> y(static_cast<size_t>(tokens * out));
    cpu::DenseProjection(test::Threads(), shape, x.data(), w.View(ExpertWeightFormat::kBFloat16), y.data());
    for (int64_t t = 0; t < tokens; ++t)
      for (int64_t n = 0; n < out; ++n) {
        float gemm = 0, magnitude = 0;
        for (int64_t k = 0; k < in; ++k) {
          gemm += widened[n * in + k] * x[t * in + k];
          magnitude += std::fabs(widened[n * in + k] * x[t * in + k]);
        }
        // Two float32 sums of the same `in` terms in different orders differ by at most ~2 * in * eps * sum|terms|;
        // in practice far less. 4 * sqrt(in) * eps * sum|terms| is a tight, still safe bound for random signs.
        const float tolerance = 4.0f * std::sqrt(static_cast<float>(in)) * 1.2e-7f * magnitude;
        ASSERT_NEAR(y[t * out + n], gemm, tolerance) << "tokens " << tokens << " row " << n;
      }
  }
}

TEST(DenseProjectionValidation, RejectsBadInputs) {
  const DenseProjectionAttributes a = Attributes(128);
  auto check = [&](DenseProjectionInputs in, std::vector<std::string> fragments) {
    test::ExpectInputError([&] { ValidateDenseProjection(in, a); }, fragments);
  };
  const DenseProjectionInputs good = Inputs(ExpertWeightFormat::kFloat8E4M3, 3, 300, 200, 128);
  EXPECT_NO_THROW(ValidateDenseProjection(good, a));

  DenseProjectionInputs in = good;
  in.weight.dtype = DType::kInt32;
  check(in, {"DenseProjection", "'weight'", "unsupported element type", "int32"});
  in = good;
  in.weight.shape = {200, 299};
  check(in, {"'weight'", "in_features from input", "[200, 299]"});
  in = good;
  in.weight.shape = {200, 300, 1};
  check(in, {"'weight'"});
  in = good;
  in.has_scales = false;
  check(in, {"'scales'", "is missing"});
  in = good;
  in.scales.shape = {2, 2};
  check(in, {"'scales'", "wrong shape", "[2, 3]", "[2, 2]"});
  in = good;
  in.scales.dtype = DType::kFloat16;
  check(in, {"'scales'", "element type", "float16"});
  in = Inputs(ExpertWeightFormat::kBFloat16, 3, 300, 200, 128);
  in.has_scales = true;
  in.scales = {DType::kFloat32, {2, 3}};
  check(in, {"'scales'", "non-FP8"});
  in = good;
  in.input.dtype = DType::kBFloat16;
  check(in, {"'input'", "element type"});
  in = good;
  in.input.shape = {1, 3, 300};
  check(in, {"'input'"});
}

TEST(DenseProjectionValidation, RejectsBadAttributes) {
  DenseProjectionAttributes a;
  a.quant_block_size = 100;
  test::ExpectInputError([&] { ValidateDenseProjectionAttributes(a); },
                         {"DenseProjection", "'quant_block_size'", "100"});
  a.quant_block_size = 128;
  a.weight_format = "int3";
  test::ExpectInputError([&] { ValidateDenseProjectionAttributes(a); },
                         {"DenseProjection", "'weight_format'", "\"int3\""});
}

}  // namespace
}  // namespace glm_ops
