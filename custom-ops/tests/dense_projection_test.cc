// DenseProjection: the CPU kernel against the reference (src/reference: every weight dequantised by its formula,
// sums in double) on grids of token counts that cross both CPU paths (row projection below 64 tokens, blocked GEMM
// from 64: row tiles, then panels from 128, with partial tiles and token blocks; the row projection is also run
// alone at every count, the GEMM's two kernels alone over their edges), widths that are not
// multiples of 8, 16 or the quant block (cropped FP8 edge blocks), every weight format of this build; bf16 weights
// against a float32 GEMM of the same values (the result ONNX Gemm gives on a float32 copy); and the validation's
// errors.
#include "cpu/dense_projection.h"
#include "cpu/dense_projection_node.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "common/dense_projection_validation.h"
#include "cpu/amx_support.h"
#include "cpu/dense_fp8_table.h"
#include "cpu/dense_projection_amx.h"
#include "cpu/dense_gemm_kernels.h"
#include "cpu/dense_gemm_panels.h"
#include "cpu/dense_projection_gemm.h"
#include "cpu/dense_projection_int.h"
#include "cpu/dense_projection_int_amx.h"
#include "cpu/dense_projection_kernels.h"
#include "cpu/isa_dispatch.h"
#include "reference/dense_projection.h"
#include "reference/weight_decode.h"
#include "test_support.h"

namespace glm_ops {
namespace {

const char* Name(ExpertWeightFormat f) {
  switch (f) {
    case ExpertWeightFormat::kFloat32: return "float32";
    case ExpertWeightFormat::kBFloat16: return "bf16";
    case ExpertWeightFormat::kFloat8E4M3: return "fp8";
    case ExpertWeightFormat::kInt8: return "int8";
    case ExpertWeightFormat::kInt4: return "int4";
  }
  return "?";
}

DType DTypeOf(ExpertWeightFormat f) {
  switch (f) {
    case ExpertWeightFormat::kFloat32: return DType::kFloat32;
    case ExpertWeightFormat::kBFloat16: return DType::kBFloat16;
    case ExpertWeightFormat::kFloat8E4M3: return DType::kFloat8E4M3FN;
    case ExpertWeightFormat::kInt8: return DType::kInt8;
    case ExpertWeightFormat::kInt4: return DType::kUInt8;
  }
  return DType::kOther;
}

bool IsInt(ExpertWeightFormat f) { return f == ExpertWeightFormat::kInt8 || f == ExpertWeightFormat::kInt4; }

uint16_t TruncateToBf16(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  return static_cast<uint16_t>(bits >> 16);
}

// A [out, in] weight in one format (FP8 with its float block scales, int8/int4 with float16 group scales).
struct Weight {
  std::vector<float> f32;
  std::vector<uint16_t> bf16;
  std::vector<uint8_t> bytes;    // FP8 codes, int8 values or int4 nibble pairs
  std::vector<float> scales;     // FP8
  std::vector<uint16_t> halves;  // int8/int4: float16 bits

  DenseWeight View(ExpertWeightFormat f) const {
    if (f == ExpertWeightFormat::kFloat32) return {f32.data(), nullptr};
    if (f == ExpertWeightFormat::kBFloat16) return {bf16.data(), nullptr};
    if (f == ExpertWeightFormat::kFloat8E4M3) return {bytes.data(), scales.data()};
    return {bytes.data(), halves.data()};
  }
};

Weight MakeWeight(std::mt19937& rng, ExpertWeightFormat format, int64_t out, int64_t in, int64_t qb) {
  Weight w;
  const int64_t count = out * in;
  if (format == ExpertWeightFormat::kFloat32) {
    w.f32 = test::RandomFloats(rng, count, -0.2f, 0.2f);
  } else if (format == ExpertWeightFormat::kBFloat16) {
    for (float v : test::RandomFloats(rng, count, -0.2f, 0.2f)) w.bf16.push_back(TruncateToBf16(v));
  } else if (format == ExpertWeightFormat::kFloat8E4M3) {
    std::uniform_int_distribution<int> byte(0, 255);
    w.scales = test::RandomFloats(rng, ((out + qb - 1) / qb) * ((in + qb - 1) / qb), 0.001f, 0.02f);
    for (int64_t i = 0; i < count; ++i) {
      uint8_t bits;
      do bits = static_cast<uint8_t>(byte(rng));  // every code but NaN (planted separately)
      while ((bits & 0x7F) == 0x7F);
      w.bytes.push_back(bits);
    }
  } else {
    // Any q (int8 in [-127, 127]; int4 any nibble, i.e. q in [-8, 7]) and positive normal float16 scales in
    // [2^-11, 2^-10): every bit pattern of the layouts, no quantizer needed.
    const bool int4 = format == ExpertWeightFormat::kInt4;
    const int64_t groups = (in + qb - 1) / qb, row_bytes = int4 ? (in + 1) / 2 : in;
    std::uniform_int_distribution<int> q8(-127, 127), nibbles(0, 255), mantissa(0, 0x3FF);
    for (int64_t r = 0; r < out; ++r)
      for (int64_t b = 0; b < row_bytes; ++b) {
        int v = int4 ? nibbles(rng) : q8(rng);
        if (int4 && in % 2 == 1 && b == row_bytes - 1) v = (v & 0x0F) | 0x80;  // odd in: the unused nibble is 8
        w.bytes.push_back(static_cast<uint8_t>(v));
      }
    for (int64_t i = 0; i < out * groups; ++i) w.halves.push_back(static_cast<uint16_t>(0x1000 | mantissa(rng)));
  }
  return w;
}

DenseProjectionInputs Inputs(ExpertWeightFormat format, int64_t tokens, int64_t in, int64_t out, int64_t qb) {
  DenseProjectionInputs i;
  i.input = {DType::kFloat32, {tokens, in}};
  i.weight = {DTypeOf(format), {out, format == ExpertWeightFormat::kInt4 ? (in + 1) / 2 : in}};
  i.has_scales = format == ExpertWeightFormat::kFloat8E4M3 || IsInt(format);
  if (format == ExpertWeightFormat::kFloat8E4M3)
    i.scales = {DType::kFloat32, {(out + qb - 1) / qb, (in + qb - 1) / qb}};
  if (IsInt(format)) i.scales = {DType::kFloat16, {out, (in + qb - 1) / qb}};
  return i;
}

DenseProjectionAttributes Attributes(int64_t qb, ExpertWeightFormat format = ExpertWeightFormat::kFloat32) {
  DenseProjectionAttributes a;
  a.quant_block_size = qb;
  if (format == ExpertWeightFormat::kInt4) a.weight_format = "int4";
  return a;
}

// The CPU paths a case runs: DenseProjection itself, its row projection alone, and its GEMM's two kernels alone (for
// any token count, whatever DenseProjection would pick).
enum class Path { kDense, kByRows, kRowTiles, kPanels };

const char* PathName(Path p) {
  switch (p) {
    case Path::kDense: return "DenseProjection";
    case Path::kByRows: return "row-projection path";
    case Path::kRowTiles: return "GEMM row tiles";
    case Path::kPanels: return "GEMM panels";
  }
  return "?";
}

// Runs the CPU kernel and the reference; nan_codes: flat weight indices that hold an FP8 NaN code.
void RunCase(std::mt19937& rng, ExpertWeightFormat format, int64_t tokens, int64_t in, int64_t out, int64_t qb,
             const std::vector<int64_t>& nan_codes = {},
             std::initializer_list<Path> paths = {Path::kDense, Path::kByRows}) {
  SCOPED_TRACE(std::string(Name(format)) + " T " + std::to_string(tokens) + " in " + std::to_string(in) + " out " +
               std::to_string(out) + " qb " + std::to_string(qb));
  Weight w = MakeWeight(rng, format, out, in, qb);
  for (size_t i = 0; i < nan_codes.size(); ++i) w.bytes[nan_codes[i]] = i % 2 ? 0xFF : 0x7F;
  const std::vector<float> x = test::RandomFloats(rng, tokens * in);
  const DenseProjectionShape shape =
      ValidateDenseProjection(Inputs(format, tokens, in, out, qb), Attributes(qb, format));
  // int8/int4 weights at up to 8 tokens with groups of a multiple of 32 columns take the integer path, whose
  // activations are rounded to int8 per 32 columns (docs/onnx-contract.md): each x[k] moves by at most max|x| over
  // its 32-column chunk / 254. Everything else is exact up to float32 summation.
  // DenseProjection's own integer kernels (cpu/dense_projection_int.h) round them the same way at every token count.
  const bool row_integer_path = IsInt(format) && tokens <= 8 && qb % 32 == 0;
  const bool dense_integer_path = row_integer_path || cpu::DenseIntApplies(shape);
  std::vector<double> group_max(static_cast<size_t>(tokens * in), 0.0);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t g0 = 0; g0 < in; g0 += 32) {
      double m = 0;
      for (int64_t k = g0; k < std::min(in, g0 + 32); ++k)
        m = std::max(m, std::fabs(static_cast<double>(x[t * in + k])));
      for (int64_t k = g0; k < std::min(in, g0 + 32); ++k) group_max[t * in + k] = m;
    }
  const std::vector<double> expected = reference::DenseProjection(shape, x.data(), w.View(format));
  for (Path path : paths) {
    SCOPED_TRACE(PathName(path));
    // bf16 weights on AVX512_BF16 (DenseProjection itself, below kDenseBf16GemmMinTokens, or on AMX tiles from 5):
    // each activation enters as two bf16 terms hi + lo, within 2^-16 |x| of it (cpu/dense_projection_kernels.h), so
    // a sum may move by 2^-16 of its terms' magnitude on top of float32 summation (a single bf16 rounding, 2^-8, would
    // fail this by far). From 9 tokens without AMX the blocked GEMM multiplies in float32: the float32 bound holds.
    const bool amx = tokens > cpu::kDenseGemvMaxTokens && in >= cpu::kAmxTileColumns &&
                     cpu::ActiveIsa() == cpu::Isa::kAvx512 && cpu::AmxEnabled();
    const bool split_activations = path == Path::kDense && format == ExpertWeightFormat::kBFloat16 &&
                                   cpu::ActiveDenseKernels().gemv_bf16_dot != nullptr &&
                                   (tokens < cpu::kDenseBf16GemmMinTokens || amx);
    // The GEMM's kernels decode every format exactly (no integer path).
    const bool integer_path =
        path == Path::kByRows ? row_integer_path : path == Path::kDense ? dense_integer_path : false;
    std::vector<float> y(static_cast<size_t>(tokens * out), -7.0f);
    switch (path) {
      case Path::kDense: cpu::DenseProjection(test::Threads(), shape, x.data(), w.View(format), y.data()); break;
      case Path::kByRows: cpu::DenseProjectionByRows(test::Threads(), shape, x.data(), w.View(format), y.data()); break;
      case Path::kRowTiles: cpu::DenseGemmRowTiles(test::Threads(), shape, x.data(), w.View(format), y.data()); break;
      case Path::kPanels: cpu::DenseGemmPanels(test::Threads(), shape, x.data(), w.View(format), y.data()); break;
    }
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
        double magnitude = 0, rounding = 0;
        for (int64_t k = 0; k < in; ++k) {
          const double wk = reference::WeightAt(format, view.data, view.scales, out, in, qb, n * in + k);
          magnitude += std::fabs(wk * x[t * in + k]);
          rounding += std::fabs(wk) * group_max[t * in + k] / 254.0;
        }
        ASSERT_NEAR(y[i], expected[i],
                    (split_activations ? 1e-6 + std::ldexp(1.0, -16) : 1e-6) * magnitude +
                        (integer_path ? rounding : 0.0) + 1e-9)
            << "token " << t << " row " << n;
      }
  }
}

const ExpertWeightFormat kFormats[] = {ExpertWeightFormat::kFloat32, ExpertWeightFormat::kBFloat16,
                                       ExpertWeightFormat::kFloat8E4M3, ExpertWeightFormat::kInt8,
                                       ExpertWeightFormat::kInt4};

TEST(DenseProjection, NodeAppliesSwiGluToItsInputAndAddsTheAddend) {
  // input_activation "swiglu" (input [T, 2 in] = [gate | up]) and the addend, each alone and together, against the
  // reference node (SiLU in double): decode and prefill token counts (the activation splits rows across the pool
  // from 64K elements), widths off the 8-lane vectors, gates far beyond exp's range on both sides.
  std::mt19937 rng(17);
  for (ExpertWeightFormat format : {ExpertWeightFormat::kFloat32, ExpertWeightFormat::kInt8})
    for (int64_t tokens : {1, 5, 70})
      for (int64_t in : {37, 1024})
        for (bool swiglu : {false, true})
          for (bool addend : {false, true}) {
            SCOPED_TRACE(std::string(Name(format)) + " T " + std::to_string(tokens) + " in " + std::to_string(in) +
                         (swiglu ? " swiglu" : "") + (addend ? " addend" : ""));
            const int64_t out = 29, qb = 32, width = swiglu ? 2 * in : in;
            Weight w = MakeWeight(rng, format, out, in, qb);
            std::vector<float> x = test::RandomFloats(rng, tokens * width, -3.0f, 3.0f);
            x[0] = -120.0f;
            x[tokens * width - 1] = 95.0f;
            const std::vector<float> add = test::RandomFloats(rng, tokens * out);
            DenseProjectionInputs inputs = Inputs(format, tokens, width, out, qb);
            inputs.weight = Inputs(format, tokens, in, out, qb).weight;
            inputs.scales = Inputs(format, tokens, in, out, qb).scales;
            inputs.has_addend = addend;
            if (addend) inputs.addend = {DType::kFloat32, {tokens, out}};
            DenseProjectionAttributes attributes = Attributes(qb, format);
            if (swiglu) attributes.input_activation = "swiglu";
            const DenseProjectionShape shape = ValidateDenseProjection(inputs, attributes);
            ASSERT_EQ(shape.in, in);
            const std::vector<double> expected =
                reference::DenseProjectionNode(shape, x.data(), w.View(format), addend ? add.data() : nullptr);
            std::vector<float> y(static_cast<size_t>(tokens * out), -7.0f);
            cpu::DenseProjectionNode(test::Threads(), shape, x.data(), w.View(format), addend ? add.data() : nullptr,
                                     y.data());
            // The projected activations a (SiLU(gate) * up, or x), for the tolerance: float32 summation of |w a| terms,
            // plus for int8 each a rounded to int8 per 32 columns (max |a| of its chunk / 254), as RunCase.
            std::vector<double> a(static_cast<size_t>(tokens * in)), chunk_max(a.size());
            for (int64_t t = 0; t < tokens; ++t) {
              for (int64_t k = 0; k < in; ++k) {
                const double g = x[t * width + k];
                a[t * in + k] = swiglu ? g / (1.0 + std::exp(-g)) * x[t * width + in + k] : g;
              }
              for (int64_t c = 0; c < in; c += 32) {
                double m = 0;
                for (int64_t k = c; k < std::min(in, c + 32); ++k) m = std::max(m, std::fabs(a[t * in + k]));
                for (int64_t k = c; k < std::min(in, c + 32); ++k) chunk_max[t * in + k] = m;
              }
            }
            const DenseWeight view = w.View(format);
            for (int64_t t = 0; t < tokens; ++t)
              for (int64_t n = 0; n < out; ++n) {
                double magnitude = addend ? std::fabs(add[t * out + n]) : 0.0, rounding = 0;
                for (int64_t k = 0; k < in; ++k) {
                  const double wk = reference::WeightAt(format, view.data, view.scales, out, in, qb, n * in + k);
                  magnitude += std::fabs(wk * a[t * in + k]);
                  rounding += std::fabs(wk) * chunk_max[t * in + k] / 254.0;
                }
                const size_t i = static_cast<size_t>(t * out + n);
                ASSERT_NEAR(y[i], expected[i],
                            2e-6 * magnitude + (format == ExpertWeightFormat::kInt8 ? rounding : 0.0) + 1e-9)
                    << "token " << t << " row " << n;
              }
          }
}

TEST(DenseProjection, MatchesReferenceOnTheTokenGrid) {
  std::mt19937 rng(13);
  for (ExpertWeightFormat f : kFormats)
    for (int64_t tokens : {1, 3, 8, 33, 64, 71, 130}) {
      RunCase(rng, f, tokens, 200, 61, 64);  // odd out, in not a multiple of the block or of 16 (int: integer path)
      RunCase(rng, f, tokens, 37, 29, 8);    // in odd, not a multiple of 8: scalar tails in every path
      RunCase(rng, f, tokens, 101, 13, 48);  // int: groups not a multiple of 32 (exact float decode)
    }
}

// The GEMM's row tiles (cpu/dense_projection_gemm.h) around their tiles (12 rows x 2 vectors of 16 tokens on
// AVX-512, 6 x 2 of 8 on AVX2: whole tiles, and last ones of fewer rows, of one vector, of padding tokens), their
// 24-row work items (the last of 16 rows), their 128-column chunks (the last of 44) and their passes (two full passes
// and a 4-token one, at two widths); DenseProjection takes them for 64 to 127 tokens, and bf16 from 9.
TEST(DenseProjection, GemmRowTilesMatchReferenceAcrossTilesChunksAndPasses) {
  std::mt19937 rng(29);
  for (ExpertWeightFormat f : {ExpertWeightFormat::kFloat32, ExpertWeightFormat::kFloat8E4M3,
                               ExpertWeightFormat::kBFloat16, ExpertWeightFormat::kInt4})
    for (int64_t tokens : {1, 12, 17, 32, 33, 66, 77}) RunCase(rng, f, tokens, 300, 40, 64, {}, {Path::kRowTiles});
  ASSERT_EQ(cpu::DenseGemmPassTokens(300), 192);
  RunCase(rng, ExpertWeightFormat::kFloat32, 2 * 192 + 4, 300, 24, 128, {}, {Path::kRowTiles});
  ASSERT_EQ(cpu::DenseGemmPassTokens(20000), 96);  // 8 MiB of activations, in whole 32-token tiles
  RunCase(rng, ExpertWeightFormat::kFloat32, 2 * 96 + 4, 20000, 24, 128, {}, {Path::kRowTiles});
}

// The GEMM's panels (cpu/dense_gemm_panels.h, from kDenseGemmPanelMinTokens) around their micro-kernel's token
// blocks (6 on AVX2, 12 on AVX-512: whole blocks only, and last blocks of 1 to 11 tokens) and over several passes of
// the weights: at 40000 input columns a pass takes 48 tokens, so 100 tokens are two full passes and a 4-token one,
// over two 16-row panels (the second of 4 rows).
TEST(DenseProjection, GemmPanelsMatchReferenceAcrossTokenBlocksAndPasses) {
  std::mt19937 rng(37);
  for (ExpertWeightFormat f : {ExpertWeightFormat::kFloat32, ExpertWeightFormat::kFloat8E4M3})
    for (int64_t tokens : {66, 72, 73, 77, 83}) RunCase(rng, f, tokens, 300, 40, 64, {}, {Path::kPanels});
  RunCase(rng, ExpertWeightFormat::kBFloat16, cpu::kDenseGemmPanelMinTokens + 3, 300, 40, 64);
  const int64_t block = cpu::ActiveDenseGemmKernels().panel_tokens;
  ASSERT_EQ(cpu::DenseGemmPanelPassTokens(40000, block), 48);
  RunCase(rng, ExpertWeightFormat::kFloat32, 100, 40000, 20, 128, {}, {Path::kPanels});
}

// Every (token, row) sum of both GEMM kernels is one FMA chain over the columns in order on both instruction sets
// (cpu/dense_gemm_kernels.h), so the AVX2 and AVX-512 row tiles and panels all give the same bits.
TEST(DenseProjection, GemmKernelsGiveTheSameBitsOnEachIsa) {
  if (!cpu::CpuHasAvx512Kernels()) GTEST_SKIP() << "no AVX-512 kernels on this CPU";
  std::mt19937 rng(31);
  // Puts the process's kernels back however the test ends.
  struct RestoreIsa {
    cpu::Isa isa = cpu::ActiveIsa();
    ~RestoreIsa() { cpu::ForceIsa(isa); }
  } restore;
  for (ExpertWeightFormat f : {ExpertWeightFormat::kFloat32, ExpertWeightFormat::kFloat8E4M3,
                               ExpertWeightFormat::kBFloat16}) {
    SCOPED_TRACE(Name(f));
    const int64_t tokens = 77, in = 300, out = 40, qb = 64;
    const Weight w = MakeWeight(rng, f, out, in, qb);
    const std::vector<float> x = test::RandomFloats(rng, tokens * in);
    const DenseProjectionShape shape = ValidateDenseProjection(Inputs(f, tokens, in, out, qb), Attributes(qb, f));
    std::vector<std::vector<float>> results;
    for (cpu::Isa isa : {cpu::Isa::kAvx2, cpu::Isa::kAvx512}) {
      ASSERT_TRUE(cpu::ForceIsa(isa));
      // The table the GEMM takes is the forced ISA's (else this would compare one kernel with itself).
      ASSERT_STREQ(cpu::ActiveDenseGemmKernels().isa, cpu::IsaName(isa));
      ASSERT_EQ(cpu::ActiveDenseGemmKernels().lanes, isa == cpu::Isa::kAvx512 ? 16 : 8);
      results.emplace_back(static_cast<size_t>(tokens * out), -7.0f);
      cpu::DenseGemmRowTiles(test::Threads(), shape, x.data(), w.View(f), results.back().data());
      results.emplace_back(static_cast<size_t>(tokens * out), -7.0f);
      cpu::DenseGemmPanels(test::Threads(), shape, x.data(), w.View(f), results.back().data());
    }
    for (size_t i = 1; i < results.size(); ++i)
      EXPECT_EQ(0, std::memcmp(results[0].data(), results[i].data(), results[0].size() * sizeof(float)))
          << "result " << i << " (AVX2 row tiles, AVX2 panels, AVX-512 row tiles, AVX-512 panels) differs";
  }
}

// The bf16 kernels (cpu/dense_projection_kernels.h: float32 at up to 8 tokens; on AVX512_BF16 the split-activation
// dot kernel at every count): every token count of a block (blocks of 4, 8-, 4- and 2-row steps), widths around
// their 16- and 32-column blocks (the scalar tail past the last whole block) and row counts around the 8- / 4-row
// steps and the 24-row work item; the largest calls exceed 64 KiB of weights, so they run on the pool rather than
// the calling thread, and the longest (dot kernel only) take many 4-token blocks per item.
TEST(DenseProjection, Bf16DecodeKernelsMatchReferenceAtBlockEdges) {
  std::mt19937 rng(19);
  for (int64_t tokens = 1; tokens <= 9; ++tokens)
    for (int64_t in : {1, 15, 16, 17, 31, 32, 33, 64, 65, 1000})
      for (int64_t out : {1, 7, 8, 9, 24, 25, 49}) RunCase(rng, ExpertWeightFormat::kBFloat16, tokens, in, out, 128);
  for (int64_t tokens : {1, 2, 3, 4, 5, 8, 13, 33, 64, 130, 259})  // 259: a 256-token pass and a 3-token one
    RunCase(rng, ExpertWeightFormat::kBFloat16, tokens, 1040, 200, 128);
  // The many-token dot kernel (gemm_bf16_dot, 5-8 tokens; from 9 the blocked GEMM): 16-row blocks (200 rows:
  // 24-row items of one block and an 8-row rest; 800 rows: two items per piece of the 4-thread pool), 512-column
  // chunks with a short last one (in 10000: 19 whole chunks, 256 columns, then the 16-column tail past the last
  // 32-column block), the last 4-token block of 1, 2 or 3 tokens after a whole one, or two whole ones; 9 and 33
  // tokens: the GEMM.
  for (int64_t tokens : {5, 6, 7, 8, 9, 33}) RunCase(rng, ExpertWeightFormat::kBFloat16, tokens, 10000, 200, 128);
  RunCase(rng, ExpertWeightFormat::kBFloat16, 7, 10000, 800, 128);
  // Below 2048 input columns, more than 4 tokens: the gemv kernel per 4-token block over 184-row L2 blocks (in
  // 1040) inside pieces of 8 items (3100 rows: 130 items on the 4-thread pool), the last block and item short.
  RunCase(rng, ExpertWeightFormat::kBFloat16, 7, 1040, 3100, 128);
}

// The float32 decode kernel (cpu/dense_projection_kernels.h, gemv_f32: up to 4 tokens, 8- / 4- / 2-row steps, one
// 64-byte line of 16 columns per iteration): every token count of a block and one past it, widths around the line
// (the scalar tail), row counts around the steps and the 24-row item; the largest calls exceed 64 KiB of weights, so
// they run on the pool rather than the calling thread.
TEST(DenseProjection, Float32DecodeKernelMatchesReferenceAtBlockEdges) {
  std::mt19937 rng(29);
  for (int64_t tokens = 1; tokens <= 5; ++tokens)
    for (int64_t in : {1, 15, 16, 17, 31, 33, 64, 65, 1000})
      for (int64_t out : {1, 7, 8, 9, 24, 25, 49}) RunCase(rng, ExpertWeightFormat::kFloat32, tokens, in, out, 128);
  for (int64_t tokens : {1, 2, 3, 4}) RunCase(rng, ExpertWeightFormat::kFloat32, tokens, 1040, 300, 128);
}

// The FP8 decode kernel (cpu/dense_projection_kernels.h, gemv_fp8: AVX-512, up to 4 tokens; the AVX2 run of this
// test takes the row projection) around its 16-column vectors and 64-column lines within scale blocks of 8, 64 and
// 128 columns (the scalar tail past a block's last whole vector, a cropped last block), rows around the 8- / 4- /
// 2-row steps, rows past a 128-row block of scales (130 rows), NaN codes in a vector and in a tail, and row ranges
// starting off the row steps; with the byte-table kernel (cpu/dense_fp8_table.h: 1-2 tokens, blocks of 64 and 128,
// where the CPU has VBMI) on and off, so both decoders' one- and two-token kernels run on such a CPU.
TEST(DenseProjection, Fp8DecodeKernelMatchesReferenceAtBlockEdges) {
  std::mt19937 rng(23);
  for (bool table : {true, false}) {
    SCOPED_TRACE(table ? "byte table where usable" : "byte table off");
    cpu::SetFp8TableEnabled(table);
    for (int64_t tokens = 1; tokens <= 5; ++tokens)
      for (int64_t qb : {8, 64, 128})
        for (int64_t in : {8, 15, 16, 17, 63, 64, 65, 200, 1040})
          for (int64_t out : {1, 7, 9, 25, 130}) RunCase(rng, ExpertWeightFormat::kFloat8E4M3, tokens, in, out, qb);
    for (int64_t tokens = 1; tokens <= 4; ++tokens)
      RunCase(rng, ExpertWeightFormat::kFloat8E4M3, tokens, 200, 40, 64, {3 * 200 + 70, 11 * 200 + 199});
  }
  cpu::SetFp8TableEnabled(true);
  // Row ranges that start off the kernels' row steps (MoeExperts calls them on its items' rows, token rows anywhere):
  // a step's rows then lie in two blocks of scale rows, each row scaled by its own (qb 64: the byte table's too).
  if (const auto gemv = cpu::ActiveDenseKernels().gemv_fp8) {
    const ExpertWeightFormat f = ExpertWeightFormat::kFloat8E4M3;
    for (int64_t qb : {8, 64}) {
      const int64_t in = 2 * qb + 6, out = 2 * qb + 10;
      const Weight w = MakeWeight(rng, f, out, in, qb);
      const std::vector<float> x = test::RandomFloats(rng, 4 * in);
      const DenseProjectionShape shape = ValidateDenseProjection(Inputs(f, 4, in, out, qb), Attributes(qb, f));
      const DenseWeight view = w.View(f);
      const std::vector<double> expected = reference::DenseProjection(shape, x.data(), view);
      const float* rows[4] = {x.data(), x.data() + in, x.data() + 2 * in, x.data() + 3 * in};
      for (int64_t r0 : {int64_t{3}, int64_t{5}, qb - 3})
        for (int64_t n = 1; n <= 4; ++n) {
          std::vector<float> y(static_cast<size_t>(n * out), -7.0f);
          gemv(static_cast<const uint8_t*>(view.data), static_cast<const float*>(view.scales), out, in, qb, r0, out,
               rows, n, y.data(), out);
          for (int64_t t = 0; t < n; ++t)
            for (int64_t r = r0; r < out; ++r) {
              double magnitude = 0;
              for (int64_t c = 0; c < in; ++c)
                magnitude += std::fabs(reference::WeightAt(f, view.data, view.scales, out, in, qb, r * in + c) *
                                       x[t * in + c]);
              ASSERT_NEAR(y[t * out + r - r0], expected[t * out + r], 1e-6 * magnitude + 1e-9)
                  << "qb " << qb << " r0 " << r0 << " tokens " << n << " token " << t << " row " << r;
            }
        }
    }
  }
}

// The AMX kernel (cpu/dense_projection_amx.h: bf16 weights, more than 4 tokens, at least 32 columns, where the CPU
// has AMX-BF16 and the AVX-512 kernels are active): token counts around its 16-token tiles and 2-tile blocks (the
// last block of one tile, zero tokens padding the last tile), passes of 256 tokens (259: a 3-token pass, which the
// gemv kernel takes), widths around the 32-column block (the float32 tail past it) and row counts around the 32-row
// block, the matrix's last rows (the zero-padded copy) and work items split across the pool; then, with the AMX path
// turned off, the same cases through the AVX-512 kernels. Skipped where AMX is not usable.
TEST(DenseProjection, Bf16AmxKernelMatchesReferenceAtTileEdges) {
  if (!cpu::AmxEnabled() || cpu::ActiveIsa() != cpu::Isa::kAvx512) GTEST_SKIP() << "no AMX-BF16 here (or GLM_OPS_AMX=off, or the AVX2 kernels forced)";
  for (bool amx : {true, false}) {
    SCOPED_TRACE(amx ? "AMX" : "AMX off");
    ASSERT_EQ(cpu::SetAmxEnabled(amx), amx);
    std::mt19937 rng(37);
    for (int64_t tokens : {5, 16, 17, 32, 33, 48})
      for (int64_t in : {32, 33, 95, 1000})
        for (int64_t out : {1, 31, 32, 33, 70}) RunCase(rng, ExpertWeightFormat::kBFloat16, tokens, in, out, 128);
    RunCase(rng, ExpertWeightFormat::kBFloat16, 259, 64, 100, 128);
    RunCase(rng, ExpertWeightFormat::kBFloat16, 40, 2080, 1000, 128);  // 32 items of 32 rows, pieces on the pool
  }
  cpu::SetAmxEnabled(true);
}

// Every format around the calling-thread / pool boundary (64 KiB of weights) and the decode paths' token limits.
TEST(DenseProjection, MatchesReferenceAroundTheCallerOnlySize) {
  std::mt19937 rng(23);
  for (ExpertWeightFormat f : kFormats)
    for (int64_t tokens : {1, 4, 5, 8, 9})
      for (int64_t out : {16, 64, 200}) RunCase(rng, f, tokens, 256, out, 32);  // 8 KiB .. 200 KiB as float32
}

// DenseProjection's integer kernels (cpu/dense_projection_int.h, per ISA: 64- / 128-column steps on AVX-512, 32 /
// 64 on AVX2) take int8 / int4 with the converter's groups (32, 128) at every token count: blocks of 1-4 tokens,
// passes of 256, widths around each step and 32-column chunk (masked or zero-padded last steps, odd int4 widths),
// row counts around the 4- / 2-row steps and the 24-row item, the calling-thread size and the pool; from 16 tokens
// (int4 on AVX2: 96) the packed-panel kernel (16-row panels, partial ones and half panels, last token blocks of 4, 8
// and 12 on AVX-512, partial 4- / 6-token blocks on AVX2, odd widths with a partial last chunk).
TEST(DenseProjection, IntegerKernelsMatchReferenceAtStepEdges) {
  std::mt19937 rng(31);
  for (ExpertWeightFormat f : {ExpertWeightFormat::kInt8, ExpertWeightFormat::kInt4})
    for (int64_t qb : {32, 128}) {
      const DenseProjectionShape probe =
          ValidateDenseProjection(Inputs(f, 1, 256, 8, qb), Attributes(qb, f));
      EXPECT_TRUE(cpu::DenseIntApplies(probe)) << Name(f) << " G " << qb;
      for (int64_t tokens : {1, 2, 3, 4, 5, 9})
        for (int64_t in : {1, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 257, 1000})
          for (int64_t out : {1, 5, 24, 25}) RunCase(rng, f, tokens, in, out, qb);
      for (int64_t tokens : {13, 64, 130, 259}) RunCase(rng, f, tokens, 1024, 49, qb);
      for (int64_t tokens : {16, 20, 40, 100}) RunCase(rng, f, tokens, 1001, 33, qb);  // odd width, partial chunk and panel
      RunCase(rng, f, 2, 2816, 300, qb);  // on the pool
      RunCase(rng, f, 1, 2816, 37, qb);   // one token: blocks of 4 (int4) / 8 (int8) steps, then single steps
      RunCase(rng, f, 1, 4096 + 40, 9, qb);
      // One token around the AVX-512 kernel's one-row limit (rows of at most 1 KiB one at a time, longer ones 4 side
      // by side): int8 1024 / 1056 bytes, int4 1024 / 1040 bytes per row.
      for (int64_t in : {1024, 1056, 2048, 2080}) RunCase(rng, f, 1, in, 29, qb);
    }
}

// The AMX int kernel (cpu/dense_projection_int_amx.h: int8 / int4 weights from 16 tokens, where the CPU has AMX-INT8
// and the AVX-512 kernels are active): token counts around its 16-token tiles (the last tile zero-padded), 256-token
// passes (259: a 3-token pass, which the row kernel takes), row counts around the 16-row panel (int8: the last panel
// copied, zero-padded, instead of loaded in place) and widths around the 32-column chunk and the 4-chunk unpack of
// int4 (a width not a multiple of 64, partial last chunks, odd widths), G 32 (G 128 stays on the panels), work items
// on the pool; then,
// with the AMX path turned off, the same cases through the vpdpbusd panels. Skipped where AMX-INT8 is not usable.
TEST(DenseProjection, IntAmxKernelMatchesReferenceAtTileEdges) {
  if (!cpu::IntAmxUsable()) GTEST_SKIP() << "no AMX-INT8 here (or GLM_OPS_AMX=off, or the AVX2 kernels forced)";
  for (bool amx : {true, false}) {
    SCOPED_TRACE(amx ? "AMX" : "AMX off");
    ASSERT_EQ(cpu::SetAmxEnabled(amx), amx);
    ASSERT_EQ(cpu::IntAmxUsable(), amx);
    std::mt19937 rng(41);
    for (ExpertWeightFormat f : {ExpertWeightFormat::kInt8, ExpertWeightFormat::kInt4}) {
      for (int64_t tokens : {16, 17, 32, 33, 48, 63, 80})
        for (int64_t in : {32, 33, 95, 96, 160, 257})
          for (int64_t out : {1, 15, 16, 17, 32, 33}) RunCase(rng, f, tokens, in, out, 32);
      for (int64_t out : {16, 33}) RunCase(rng, f, 20, 256, out, 128);
      RunCase(rng, f, 259, 288, 40, 32);
      RunCase(rng, f, 40, 1056, 300, 32);  // 19 panels on the pool
    }
  }
  cpu::SetAmxEnabled(true);
}

// The AMX int kernel against the vpdpbusd panel kernel on the same quantized activations: the same exact int32 sums
// per chunk, scaled and added with the same roundings in the same order, so the same floats (greedy tokens do not
// move when AMX is turned on or off).
TEST(DenseProjection, IntAmxKernelMatchesPanelKernel) {
  if (!cpu::IntAmxUsable()) GTEST_SKIP() << "no AMX-INT8 here (or GLM_OPS_AMX=off, or the AVX2 kernels forced)";
  std::mt19937 rng(43);
  for (ExpertWeightFormat f : {ExpertWeightFormat::kInt8, ExpertWeightFormat::kInt4})
    for (int64_t tokens : {16, 33, 80})
      for (int64_t in : {96, 1000, 2048}) {
        const int64_t out = 49;
        SCOPED_TRACE(std::string(Name(f)) + " T " + std::to_string(tokens) + " in " + std::to_string(in));
        const Weight w = MakeWeight(rng, f, out, in, 32);
        const std::vector<float> x = test::RandomFloats(rng, tokens * in);
        const DenseProjectionShape shape = ValidateDenseProjection(Inputs(f, tokens, in, out, 32), Attributes(32, f));
        std::vector<float> amx(static_cast<size_t>(tokens * out)), panel(amx.size());
        ASSERT_TRUE(cpu::SetAmxEnabled(true));
        cpu::DenseProjection(test::Threads(), shape, x.data(), w.View(f), amx.data());
        ASSERT_FALSE(cpu::SetAmxEnabled(false));
        cpu::DenseProjection(test::Threads(), shape, x.data(), w.View(f), panel.data());
        cpu::SetAmxEnabled(true);
        for (size_t i = 0; i < amx.size(); ++i) ASSERT_EQ(amx[i], panel[i]) << "element " << i;
      }
}

// A token holding a NaN or an infinity gives the exact path's result (NaN in its row), not a quantized one.
TEST(DenseProjection, IntegerKernelsLeaveNonFiniteTokensToTheExactPath) {
  std::mt19937 rng(37);
  for (ExpertWeightFormat f : {ExpertWeightFormat::kInt8, ExpertWeightFormat::kInt4})
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
      const int64_t tokens = 3, in = 256, out = 30;
      const Weight w = MakeWeight(rng, f, out, in, 32);
      std::vector<float> x = test::RandomFloats(rng, tokens * in);
      x[in + 17] = bad;
      const DenseProjectionShape shape = ValidateDenseProjection(Inputs(f, tokens, in, out, 32), Attributes(32, f));
      std::vector<float> y(static_cast<size_t>(tokens * out));
      cpu::DenseProjection(test::Threads(), shape, x.data(), w.View(f), y.data());
      for (int64_t n = 0; n < out; ++n) {
        EXPECT_FALSE(std::isfinite(y[out + n])) << Name(f) << " row " << n;
        EXPECT_TRUE(std::isfinite(y[n]) && std::isfinite(y[2 * out + n])) << Name(f) << " row " << n;
      }
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

// The integer path really is the approximation the tolerance allows for (and not silently the exact path): with a
// single 32-column activation chunk whose largest value rounds exactly, the others move.
TEST(DenseProjection, IntegerPathRoundsActivationsPerGroup) {
  const int64_t in = 32, out = 1;
  Weight w;
  w.bytes.assign(static_cast<size_t>(in), 1);  // int8 q = 1
  w.halves.assign(1, 0x3C00);                  // scale 1.0
  std::vector<float> x(static_cast<size_t>(in), 0.0f);
  x[0] = 1.0f;    // max|x|: q = 127 exactly
  x[1] = 0.003f;  // 0.003 * 127 = 0.381: rounds to q = 0
  const DenseProjectionShape shape =
      ValidateDenseProjection(Inputs(ExpertWeightFormat::kInt8, 1, in, out, 32), Attributes(32));
  float y = 0;
  cpu::DenseProjection(test::Threads(), shape, x.data(), w.View(ExpertWeightFormat::kInt8), &y);
  EXPECT_FLOAT_EQ(y, 1.0f);  // the exact product would be 1.003
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

// groups > 1 (MLA's per-head W_UK / W_UV): the CPU kernel against the reference, whose group g reads input columns
// [g * in, (g + 1) * in) through weight rows [g * rows, (g + 1) * rows). Checked per group against the ungrouped
// reference on that group's own slice of the input and rows of the weight too, so the reference's grouping is not
// trusted blindly. Token counts cross the single-token (no gather), row-projection and GEMM paths.
void RunGroupedCase(std::mt19937& rng, ExpertWeightFormat format, int64_t tokens, int64_t groups, int64_t in,
                    int64_t rows, int64_t qb, bool rank3) {
  SCOPED_TRACE(std::string(Name(format)) + " T " + std::to_string(tokens) + " groups " + std::to_string(groups) +
               " in " + std::to_string(in) + " rows " + std::to_string(rows) + " qb " + std::to_string(qb) +
               (rank3 ? " [T, G, in]" : " [T, G * in]"));
  const int64_t out = groups * rows, width = groups * in;
  const Weight w = MakeWeight(rng, format, out, in, qb);
  const std::vector<float> x = test::RandomFloats(rng, tokens * width);
  DenseProjectionInputs inputs = Inputs(format, tokens, in, out, qb);
  inputs.input.shape = rank3 ? std::vector<int64_t>{tokens, groups, in} : std::vector<int64_t>{tokens, width};
  DenseProjectionAttributes attributes = Attributes(qb, format);
  attributes.groups = groups;
  const DenseProjectionShape shape = ValidateDenseProjection(inputs, attributes);
  ASSERT_EQ(shape.groups, groups);
  ASSERT_EQ(shape.in, in);
  ASSERT_EQ(shape.out, out);
  const DenseWeight view = w.View(format);
  const std::vector<double> expected = reference::DenseProjection(shape, x.data(), view);
  std::vector<float> y(static_cast<size_t>(tokens * out), -7.0f);
  cpu::DenseProjection(test::Threads(), shape, x.data(), view, y.data());

  // Integer weights round the activations below 9 tokens (the row projection's integer path) and, from
  // kDenseGemmMinTokens, wherever each group's one-matrix call takes DenseProjection's integer kernels.
  const DenseProjectionShape one_group =
      ValidateDenseProjection(Inputs(format, tokens, in, rows, qb), Attributes(qb, format));
  const bool integer_path = IsInt(format) && qb % 32 == 0 &&
                            (tokens <= 8 || (tokens >= cpu::kDenseGemmMinTokens && cpu::DenseIntApplies(one_group)));
  // From kDenseGemmMinTokens each group is a one-matrix DenseProjection, whose bf16 weights on AVX512_BF16 take the
  // split-activation dot path (2^-16 of the terms' magnitude, as in RunCase); below, the row projection (float32).
  const bool split_activations = format == ExpertWeightFormat::kBFloat16 && tokens >= cpu::kDenseGemmMinTokens &&
                                 cpu::ActiveDenseKernels().gemv_bf16_dot != nullptr;
  const size_t scale_bytes = format == ExpertWeightFormat::kFloat8E4M3 ? sizeof(float) : sizeof(uint16_t);
  for (int64_t g = 0; g < groups; ++g) {
    // The group alone: its input columns and its weight rows (and their scales) as a one-matrix projection.
    std::vector<float> xg(static_cast<size_t>(tokens * in));
    for (int64_t t = 0; t < tokens; ++t)
      for (int64_t k = 0; k < in; ++k) xg[t * in + k] = x[t * width + g * in + k];
    const DenseProjectionShape one =
        ValidateDenseProjection(Inputs(format, tokens, in, rows, qb), Attributes(qb, format));
    const int64_t scale_rows = format == ExpertWeightFormat::kFloat8E4M3 ? rows / qb : rows;
    const DenseWeight wg{static_cast<const uint8_t*>(view.data) + g * rows * one.RowBytes(),
                         view.scales ? static_cast<const uint8_t*>(view.scales) +
                                           g * scale_rows * one.ScaleCols() * scale_bytes
                                     : nullptr};
    const std::vector<double> alone = reference::DenseProjection(one, xg.data(), wg);
    for (int64_t t = 0; t < tokens; ++t)
      for (int64_t n = 0; n < rows; ++n) {
        const size_t i = static_cast<size_t>(t * out + g * rows + n);
        ASSERT_EQ(expected[i], alone[static_cast<size_t>(t * rows + n)]) << "reference group " << g;
        double magnitude = 0, rounding = 0;
        for (int64_t k0 = 0; k0 < in; k0 += 32) {
          double m = 0;
          for (int64_t k = k0; k < std::min(in, k0 + 32); ++k) m = std::max(m, std::fabs(double{xg[t * in + k]}));
          for (int64_t k = k0; k < std::min(in, k0 + 32); ++k) {
            const double wk = reference::WeightAt(format, wg.data, wg.scales, rows, in, qb, n * in + k);
            magnitude += std::fabs(wk * xg[t * in + k]);
            rounding += std::fabs(wk) * m / 254.0;
          }
        }
        ASSERT_NEAR(y[i], expected[i],
                    (split_activations ? 1e-6 + std::ldexp(1.0, -16) : 1e-6) * magnitude +
                        (integer_path ? rounding : 0.0) + 1e-9)
            << "token " << t << " group " << g << " row " << n;
      }
  }
}

TEST(DenseProjection, GroupedMatchesReferencePerGroup) {
  std::mt19937 rng(29);
  for (ExpertWeightFormat f : kFormats)
    for (int64_t tokens : {1, 2, 5, 9, 33, 64, 70}) {
      // GLM-shaped heads (W_UK: 64 -> 256, W_UV: 256 -> 64, int groups of 32 / FP8 blocks of 32), and odd widths.
      RunGroupedCase(rng, f, tokens, 4, 64, 64, 32, tokens % 2 == 0);
      RunGroupedCase(rng, f, tokens, 3, 96, 32, 32, tokens % 2 == 1);
      if (f != ExpertWeightFormat::kFloat8E4M3) RunGroupedCase(rng, f, tokens, 5, 37, 7, 8, false);
    }
}

TEST(DenseProjectionValidation, RejectsBadGroups) {
  auto check = [&](DenseProjectionInputs in, const DenseProjectionAttributes& attributes,
                   std::vector<std::string> fragments) {
    test::ExpectInputError([&] { ValidateDenseProjection(in, attributes); }, fragments);
  };
  DenseProjectionAttributes a = Attributes(32);
  a.groups = 4;
  DenseProjectionInputs in = Inputs(ExpertWeightFormat::kBFloat16, 2, 64, 40, 32);
  in.input.shape = {2, 256};
  EXPECT_EQ(ValidateDenseProjection(in, a).in, 64);
  in.input.shape = {2, 4, 64};
  EXPECT_EQ(ValidateDenseProjection(in, a).InputWidth(), 256);
  in.input.shape = {2, 3, 64};
  check(in, a, {"'input'", "groups"});
  in.input.shape = {2, 250};
  check(in, a, {"'input'", "not a multiple of groups", "[2, 250]"});
  in = Inputs(ExpertWeightFormat::kBFloat16, 2, 64, 42, 32);
  in.input.shape = {2, 256};
  check(in, a, {"'weight'", "do not split into groups", "[42, 64]"});
  in = Inputs(ExpertWeightFormat::kFloat8E4M3, 2, 64, 64, 32);
  in.input.shape = {2, 256};
  check(in, a, {"'weight'", "FP8 groups", "quant_block_size 32"});  // 16 rows per group, blocks of 32
  a.groups = 0;
  test::ExpectInputError([&] { ValidateDenseProjectionAttributes(a); }, {"DenseProjection", "'groups'", "0"});
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
  check(in, {"'scales'", "given for float/bfloat16 weights"});
  in = good;
  in.input.dtype = DType::kBFloat16;
  check(in, {"'input'", "element type"});
  in = good;
  in.input.shape = {1, 3, 300};
  check(in, {"'input'"});
}

TEST(DenseProjectionValidation, RejectsBadIntWeights) {
  const DenseProjectionAttributes a = Attributes(32, ExpertWeightFormat::kInt4);
  auto check = [&](DenseProjectionInputs in, const DenseProjectionAttributes& attributes,
                   std::vector<std::string> fragments) {
    test::ExpectInputError([&] { ValidateDenseProjection(in, attributes); }, fragments);
  };
  const DenseProjectionInputs int4 = Inputs(ExpertWeightFormat::kInt4, 2, 65, 10, 32);
  EXPECT_EQ(ValidateDenseProjection(int4, a).format, ExpertWeightFormat::kInt4);
  DenseProjectionInputs in = int4;
  in.weight.shape = {10, 65};  // int4 holds ceil(65 / 2) = 33 bytes per row
  check(in, a, {"'weight'", "ceil(in_features / 2)", "[10, 65]"});
  in = int4;
  in.weight.dtype = DType::kInt8;
  check(in, a, {"'weight'", "weight_format \"int4\"", "int8"});
  in = int4;
  in.scales.dtype = DType::kFloat32;
  check(in, a, {"'scales'", "element type", "float16"});
  in = int4;
  in.scales.shape = {1, 3};  // int scales are per row: [out, ceil(in / G)]
  check(in, a, {"'scales'", "wrong shape", "[10, 3]"});
  in = Inputs(ExpertWeightFormat::kInt8, 2, 65, 10, 32);
  in.has_scales = false;
  check(in, Attributes(32), {"'scales'", "is missing", "float16"});
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
