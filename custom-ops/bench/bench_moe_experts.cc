// MoeExperts benchmark at GLM-5.2 widths (hidden 6144, expert width 2048, top-8) over 16 stacked experts (or
// [experts]), for 1, 8 and 64 tokens with bf16, block-FP8, int8 and int4 weights (G 128), each with the AVX2 and the
// AVX-512 kernels in alternating calls (cpu/isa_dispatch.h). Effective weight bandwidth = bytes of the distinct
// experts a call touches (scales included) / median time, compared with a plain read bandwidth measured by this
// program on this machine and with the 45 GB/s llama.cpp streams on 2 threads here (docs/benchmarks.md).
// Also measures, on one thread over an L2-resident buffer, the e4m3 decoders considered for the kernel, and the
// accuracy of the int8/int4 integer path (activations rounded to int8) against the exact reference.
// And, on one thread over one L2-resident matrix, each format's projection kernel per ISA (the per-core ceiling).
// `small`: the same at the small preset's shapes, float32 weights too (RunSmall; GLM_BENCH_FORMAT=fp32|bf16|fp8|int8|
// int4: that format only; GLM_BENCH_BLOCK=G: int8/int4 only with groups of G).
// GLM_BENCH_MAX_TOKENS=N: only token counts up to N; GLM_BENCH_TOKENS=a,b,..: these token counts instead (e.g. 32 on
// 32 experts: a slice prefill of prompt 32, ~8 tokens per expert). The op's loops run on a pool that outlives the calls
// (bench_pool.h), as in a session; threads: GLM_OPS_THREADS (default one per core).
//   bench_moe_experts [repeats] [experts] [bf16|fp8|int8|int4|decode|kernels|accuracy|small]
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <random>
#include <set>
#include <vector>

#include "bench_pool.h"
#include "bench_util.h"
#include "cpu/amx_support.h"
#include "cpu/isa_dispatch.h"
#include "cpu/line_vector.h"
#include "cpu/moe_experts.h"
#include "cpu/weight_decode.h"
#include "reference/moe_experts.h"

namespace glm_ops::bench {
namespace {

// The shapes of a run: GLM-5.2's real widths, or the `small` preset's (glm-convert synth --preset small).
struct Dims {
  int64_t hidden, inter, top_k, block;
};
Dims dims{6144, 2048, 8, 128};

// What llama.cpp streams on 2 threads here (issue #13: 517 MB of f32 weights per token in 11.4 ms).
constexpr double kLlamaCppGBs = 45.0;

// The op's loops: a pool that outlives the calls, as ONNX Runtime's is in a session (bench_pool.h).
const cpu::Parallel& Pool() {
  static const PooledThreads pool(Threads().Threads());
  return pool;
}

bool IsInteger(ExpertWeightFormat f) { return f == ExpertWeightFormat::kInt8 || f == ExpertWeightFormat::kInt4; }

struct Weights {
  // Raw bytes in the format's element type, starting on a cache line as the artifacts' tensors do (4 KiB-aligned).
  cpu::LineVector<uint8_t> gate, up, down;
  std::vector<float> gate_scales, up_scales, down_scales;      // FP8
  std::vector<uint16_t> gate_half, up_half, down_half;         // int8/int4: float16 [E, rows, cols / dims.block]
};

// int8/int4 weights: q from the uniform values (int8 q = round(127 v), int4 nibble = round(7 v) + 8) and float16
// scale 0x211F (~0.01/127) or 0x2D1F (~0.01/7) everywhere, so the weights span about +-0.01 like the others.
Weights MakeIntegerWeights(ExpertWeightFormat format, int64_t experts) {
  const bool int4 = format == ExpertWeightFormat::kInt4;
  const int64_t row_bytes = int4 ? dims.hidden / 2 : dims.hidden;  // dims.hidden and dims.inter are even
  Weights w;
  std::vector<float> values(static_cast<size_t>(dims.inter * dims.hidden));
  for (cpu::LineVector<uint8_t>* m : {&w.gate, &w.up, &w.down}) {
    m->resize(static_cast<size_t>(experts * dims.inter * row_bytes));
    for (int64_t e = 0; e < experts; ++e) {
      FillUniform(values.data(), static_cast<int64_t>(values.size()), static_cast<uint64_t>(e + 1));
      uint8_t* dst = m->data() + e * dims.inter * row_bytes;
      if (int4)
        for (size_t i = 0; i < values.size(); i += 2)
          dst[i / 2] = static_cast<uint8_t>((static_cast<int>(std::lround(values[i] * 7)) + 8) |
                                            ((static_cast<int>(std::lround(values[i + 1] * 7)) + 8) << 4));
      else
        for (size_t i = 0; i < values.size(); ++i)
          dst[i] = static_cast<uint8_t>(static_cast<int8_t>(std::lround(values[i] * 127)));
    }
  }
  const size_t scales = static_cast<size_t>(experts * dims.inter * (dims.hidden / dims.block));
  for (std::vector<uint16_t>* s : {&w.gate_half, &w.up_half, &w.down_half})
    s->assign(scales, int4 ? 0x2D1F : 0x211F);
  return w;
}

Weights MakeWeights(ExpertWeightFormat format, int64_t experts) {
  if (IsInteger(format)) return MakeIntegerWeights(format, experts);
  const int64_t element = format == ExpertWeightFormat::kFloat32 ? 4 : format == ExpertWeightFormat::kBFloat16 ? 2 : 1;
  const int64_t matrix = dims.inter * dims.hidden * element;
  Weights w;
  std::vector<float> values(static_cast<size_t>(dims.inter * dims.hidden));
  for (cpu::LineVector<uint8_t>* m : {&w.gate, &w.up, &w.down}) {
    m->resize(static_cast<size_t>(experts * matrix));
    for (int64_t e = 0; e < experts; ++e) {
      FillUniform(values.data(), static_cast<int64_t>(values.size()), static_cast<uint64_t>(e + 1));
      uint8_t* dst = m->data() + e * matrix;
      for (size_t i = 0; i < values.size(); ++i) {
        if (format == ExpertWeightFormat::kFloat32) {
          std::memcpy(dst + 4 * i, &values[i], 4);
        } else if (format == ExpertWeightFormat::kBFloat16) {
          uint32_t bits;
          std::memcpy(&bits, &values[i], 4);
          const uint16_t half = static_cast<uint16_t>(bits >> 16);
          std::memcpy(dst + 2 * i, &half, 2);
        } else {
          // A spread of e4m3 codes with exponent field <= 7 (no NaN); the values only need to be realistic bits.
          dst[i] = static_cast<uint8_t>(static_cast<int>((values[i] + 1.0f) * 63.5f) | (values[i] < 0 ? 0x80 : 0));
        }
      }
    }
  }
  if (format == ExpertWeightFormat::kFloat8E4M3) {
    const int64_t scales = experts * (dims.inter / dims.block) * (dims.hidden / dims.block);
    w.gate_scales.assign(static_cast<size_t>(scales), 0.01f);
    w.up_scales.assign(static_cast<size_t>(scales), 0.01f);
    w.down_scales.assign(static_cast<size_t>(scales), 0.01f);
  }
  return w;
}

// The e4m3 decoder the kernel used before F16C (integer placement, blends for subnormals and NaN); kept here only
// as the baseline of the decoder comparison.
inline __m256 DecodeE4M3x8Integer(const uint8_t* p) {
  const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  const __m256i mag = _mm256_and_si256(v, _mm256_set1_epi32(0x7F));
  const __m256i sign = _mm256_slli_epi32(_mm256_and_si256(v, _mm256_set1_epi32(0x80)), 24);
  const __m256i normal = _mm256_add_epi32(_mm256_slli_epi32(mag, 20), _mm256_set1_epi32(120 << 23));
  const __m256 subnormal = _mm256_mul_ps(_mm256_cvtepi32_ps(mag), _mm256_set1_ps(1.0f / 512.0f));
  const __m256 is_subnormal = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(8), mag));
  const __m256 is_nan = _mm256_castsi256_ps(_mm256_cmpeq_epi32(mag, _mm256_set1_epi32(0x7F)));
  __m256 value = _mm256_blendv_ps(_mm256_castsi256_ps(normal), subnormal, is_subnormal);
  value = _mm256_blendv_ps(value, _mm256_set1_ps(NAN), is_nan);
  return _mm256_or_ps(value, _mm256_castsi256_ps(sign));
}

// Decode + dot product with an activation vector over a 96 KiB FP8 buffer (L2-resident), one thread, for each
// decoder: weights decoded per CPU second. The kernel's 1-token path is this loop plus memory traffic.
void BenchFp8Decoders(int repeats) {
  constexpr int64_t kCount = 96 * 1024, kPasses = 64;
  std::vector<uint8_t> codes(static_cast<size_t>(kCount));
  for (int64_t i = 0; i < kCount; ++i) {
    const int code = static_cast<int>((i * 37 + 11) % 256);
    codes[i] = static_cast<uint8_t>((code & 0x7F) == 0x7F ? code - 1 : code);  // every code but NaN
  }
  std::vector<float> x(static_cast<size_t>(kCount), 0.5f);
  float table[256];
  for (int b = 0; b < 256; ++b) table[b] = cpu::DecodeE4M3(static_cast<uint8_t>(b));
  auto run = [&](const char* name, auto decode, bool nan_scan) {
    volatile float sink = 0;
    const Timing t = Measure(repeats, [&] {
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (int64_t pass = 0; pass < kPasses; ++pass) {
        if (nan_scan && cpu::HasE4M3Nan(codes.data(), kCount)) sink = sink + 1.0f;
        for (int64_t i = 0; i < kCount; i += 32) {
          a0 = _mm256_fmadd_ps(decode(codes.data() + i), _mm256_loadu_ps(x.data() + i), a0);
          a1 = _mm256_fmadd_ps(decode(codes.data() + i + 8), _mm256_loadu_ps(x.data() + i + 8), a1);
          a2 = _mm256_fmadd_ps(decode(codes.data() + i + 16), _mm256_loadu_ps(x.data() + i + 16), a2);
          a3 = _mm256_fmadd_ps(decode(codes.data() + i + 24), _mm256_loadu_ps(x.data() + i + 24), a3);
        }
      }
      alignas(32) float lanes[8];
      _mm256_store_ps(lanes, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
      sink = sink + lanes[0];
    });
    const double weights = static_cast<double>(kCount * kPasses);
    std::printf("  %-34s %6.2f G weights per CPU-s (%5.2f GB/s of FP8 per core)\n", name, weights / t.cpu / 1e9,
                weights / t.cpu / 1e9);
  };
  std::printf("FP8 e4m3 decode + FMA, one thread, 96 KiB L2-resident, median of %d:\n", repeats);
  run("integer placement + blends (before)", [](const uint8_t* p) { return DecodeE4M3x8Integer(p); }, false);
  run("256-entry table + gather", [&](const uint8_t* p) {
    return _mm256_i32gather_ps(table, _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))), 4);
  }, false);
  run("float16 placement + F16C", [](const uint8_t* p) { return cpu::DecodeE4M3x8Half(p); }, false);
  run("float16 placement + F16C + NaN scan", [](const uint8_t* p) { return cpu::DecodeE4M3x8Half(p); }, true);
}

// The op's inputs for `tokens` routed tokens (top-8 of `experts`, random per token as before).
struct Call {
  std::vector<float> hidden, out, weights;
  std::vector<int32_t> ids;
  size_t touched = 0;
  MoeExpertsShape shape;
  cpu::ExpertWeights ew;
};

Call MakeCall(ExpertWeightFormat format, const Weights& w, int64_t experts, int64_t tokens, std::mt19937& rng) {
  Call c;
  c.hidden.resize(static_cast<size_t>(tokens * dims.hidden));
  c.out.resize(c.hidden.size());
  FillUniform(c.hidden.data(), static_cast<int64_t>(c.hidden.size()), 77);
  c.weights.assign(static_cast<size_t>(tokens * dims.top_k), 0.125f);
  std::set<int32_t> touched;
  for (int64_t t = 0; t < tokens; ++t) {
    std::vector<int32_t> all(static_cast<size_t>(experts));
    for (int64_t e = 0; e < experts; ++e) all[e] = static_cast<int32_t>(e);
    std::shuffle(all.begin(), all.end(), rng);
    for (int64_t k = 0; k < std::min(dims.top_k, experts); ++k) {
      c.ids.push_back(all[k]);
      touched.insert(all[k]);
    }
  }
  c.touched = touched.size();
  const int64_t top_k = std::min(dims.top_k, experts);
  const bool fp8 = format == ExpertWeightFormat::kFloat8E4M3, integer = IsInteger(format);
  const bool int4 = format == ExpertWeightFormat::kInt4;
  const DType dtype = fp8 ? DType::kFloat8E4M3FN
                      : integer ? (int4 ? DType::kUInt8 : DType::kInt8)
                      : format == ExpertWeightFormat::kFloat32 ? DType::kFloat32
                                                               : DType::kBFloat16;
  const int64_t hidden_stored = int4 ? dims.hidden / 2 : dims.hidden, inter_stored = int4 ? dims.inter / 2 : dims.inter;
  MoeExpertsInputs in;
  in.hidden = {DType::kFloat32, {tokens, dims.hidden}};
  in.expert_ids = {DType::kInt32, {tokens, top_k}};
  in.expert_weights = {DType::kFloat32, {tokens, top_k}};
  in.gate_weights = {dtype, {experts, dims.inter, hidden_stored}};
  in.up_weights = {dtype, {experts, dims.inter, hidden_stored}};
  in.down_weights = {dtype, {experts, dims.hidden, inter_stored}};
  in.has_gate_scales = in.has_up_scales = in.has_down_scales = fp8 || integer;
  if (integer) {
    in.gate_scales = in.up_scales = {DType::kFloat16, {experts, dims.inter, dims.hidden / dims.block}};
    in.down_scales = {DType::kFloat16, {experts, dims.hidden, dims.inter / dims.block}};
  } else {
    in.gate_scales = in.up_scales = {DType::kFloat32, {experts, dims.inter / dims.block, dims.hidden / dims.block}};
    in.down_scales = {DType::kFloat32, {experts, dims.hidden / dims.block, dims.inter / dims.block}};
  }
  c.shape = ValidateMoeExperts(in, {dims.block, int4 ? "int4" : ""});
  if (integer)
    c.ew = {w.gate.data(), w.up.data(), w.down.data(), w.gate_half.data(), w.up_half.data(), w.down_half.data()};
  else
    c.ew = {w.gate.data(), w.up.data(), w.down.data(), fp8 ? w.gate_scales.data() : nullptr,
            fp8 ? w.up_scales.data() : nullptr, fp8 ? w.down_scales.data() : nullptr};
  return c;
}

// Stored bytes of one expert (three matrices and their scales).
double ExpertBytes(ExpertWeightFormat format) {
  const double weights = 3.0 * dims.inter * dims.hidden;
  switch (format) {
    case ExpertWeightFormat::kBFloat16: return 2 * weights;
    case ExpertWeightFormat::kFloat8E4M3: return weights + 3.0 * (dims.inter / dims.block) * (dims.hidden / dims.block) * 4;
    case ExpertWeightFormat::kInt8: return weights + weights / dims.block * 2;
    case ExpertWeightFormat::kInt4: return weights / 2 + weights / dims.block * 2;
    default: return 4 * weights;
  }
}

// `rotation` calls with different routings take turns, so that a small layer's experts are not still in the L3
// cache from the previous call (a model's other layers evict them between its calls).
void Run(ExpertWeightFormat format, const char* name, int64_t experts, int repeats, Rate read, Rate peak,
         const std::vector<int64_t>& token_counts = {1, 8, 64}, int rotation = 1) {
  const Weights w = MakeWeights(format, experts);
  // Variants in alternating calls: AVX2, AVX-512 with AMX off, and (bf16 where AMX is usable) AVX-512 with AMX
  // (cpu/expert_amx.h; GLM_BENCH_AMX_MIN=N: AMX for experts with at least N tokens, default the op's).
  struct Variant {
    cpu::Isa isa;
    bool amx;
    const char* name;
  };
  std::vector<Variant> isas{{cpu::Isa::kAvx2, false, "avx2"}};
  if (cpu::CpuHasAvx512Kernels()) isas.push_back({cpu::Isa::kAvx512, false, "avx512"});
  if (cpu::CpuHasAvx512Kernels() && cpu::AmxUsable() && format == ExpertWeightFormat::kBFloat16)
    isas.push_back({cpu::Isa::kAvx512, true, "amx"});
  if (const char* min = std::getenv("GLM_BENCH_AMX_MIN")) cpu::SetMoeExpertsAmxMinTokens(std::atoll(min));
  if (const char* skip = std::getenv("GLM_BENCH_NO_AVX2"); skip && *skip == '1' && isas.size() > 1)
    isas.erase(isas.begin());
  std::mt19937 rng(5);
  const char* max_text = std::getenv("GLM_BENCH_MAX_TOKENS");  // only the token counts up to it
  const int64_t max_tokens = max_text ? std::atoll(max_text) : INT64_MAX;
  std::vector<int64_t> counts = token_counts;
  if (const char* list = std::getenv("GLM_BENCH_TOKENS")) {  // these token counts instead
    counts.clear();
    for (const char* p = list; *p;) {
      char* end = nullptr;
      const long long v = std::strtoll(p, &end, 10);
      if (end == p) break;
      if (v > 0) counts.push_back(v);
      p = *end ? end + 1 : end;
    }
  }
  for (int64_t tokens : counts) {
    if (tokens > max_tokens) continue;
    std::vector<Call> calls;
    double touched = 0;
    for (int i = 0; i < rotation; ++i) {
      calls.push_back(MakeCall(format, w, experts, tokens, rng));
      touched += static_cast<double>(calls.back().touched) / rotation;
    }
    size_t turn = 0;
    // The ISAs alternate call by call, so both see the same machine load.
    std::vector<Timing> timings = MeasureAlternating(repeats, isas.size(), [&](size_t i) {
      cpu::ForceIsa(isas[i].isa);
      cpu::SetAmxEnabled(isas[i].amx);
      Call& c = calls[turn++ % calls.size()];
      cpu::MoeExperts(Pool(), c.shape, c.hidden.data(), c.ids.data(), c.weights.data(), c.ew, c.out.data());
    });
    const Call& c = calls[0];
    for (size_t i = 0; i < isas.size(); ++i) {
      const Timing& t = timings[i];
      const Rate bandwidth = RateOf(ExpertBytes(format) * touched, t);
      const Rate flops = RateOf(2.0 * 3.0 * dims.inter * dims.hidden * static_cast<double>(c.shape.tokens * c.shape.top_k), t);
      std::printf("%-5s %-6s G %3lld tokens %3lld experts %5.1f | %8.3f ms (cpu %8.3f ms) | weights %6.2f GB/s = %4.2f x "
                  "read bw, %4.2f x llama.cpp's %.0f (per CPU-s %6.2f = %4.2f x) | %6.1f GFLOP/s, per CPU-s %6.1f = "
                  "%4.2f x FMA peak | %7.0f tokens/s\n",
                  name, isas[i].name, static_cast<long long>(dims.block), static_cast<long long>(tokens),
                  touched, t.wall * 1e3, t.cpu * 1e3, bandwidth.wall / 1e9, bandwidth.wall / read.wall,
                  bandwidth.wall / 1e9 / kLlamaCppGBs, kLlamaCppGBs, bandwidth.cpu / 1e9, bandwidth.cpu / read.cpu,
                  flops.wall / 1e9, flops.cpu / 1e9, flops.cpu / peak.cpu, static_cast<double>(tokens) / t.wall);
    }
    std::fflush(stdout);
  }
}

// One thread, one 24 x 6144 expert matrix in L2 (what one work item of the op reads), one token: weights per CPU
// second of the projection kernel for each format and ISA, i.e. the compute ceiling of the decode path per core,
// to set against each core's share of the memory bandwidth.
void BenchProjection(int repeats) {
  constexpr int64_t kRows = 24;
  // GLM_BENCH_KERNEL_TOKENS=N: N tokens per call (a prefill's tokens on one expert), as MoeExperts passes them.
  const char* tokens_text = std::getenv("GLM_BENCH_KERNEL_TOKENS");
  const int64_t n = tokens_text ? std::max<int64_t>(1, std::atoll(tokens_text)) : 1;
  const int64_t calls = std::max<int64_t>(1, 2000 / n);
  const int64_t cols = dims.hidden;
  std::vector<cpu::Isa> isas{cpu::Isa::kAvx2};
  if (cpu::CpuHasAvx512Kernels()) isas.push_back(cpu::Isa::kAvx512);
  std::printf("projection kernel, one thread, 24 x %lld weights L2-resident (G %lld), %lld token(s), median of %d:\n",
              static_cast<long long>(cols), static_cast<long long>(dims.block), static_cast<long long>(n), repeats);
  const std::pair<ExpertWeightFormat, const char*> formats[] = {{ExpertWeightFormat::kBFloat16, "bf16"},
                                                                {ExpertWeightFormat::kFloat8E4M3, "fp8"},
                                                                {ExpertWeightFormat::kInt8, "int8"},
                                                                {ExpertWeightFormat::kInt4, "int4"}};
  const char* only = std::getenv("GLM_BENCH_FORMAT");
  for (const auto& [format, name] : formats) {
    if (only && std::strcmp(only, name) != 0) continue;
    const Weights w = MakeWeights(format, 1);
    MoeExpertsShape shape;
    shape.format = format;
    shape.quant_block_size = dims.block;
    const void* scales = IsInteger(format) ? static_cast<const void*>(w.gate_half.data())
                         : format == ExpertWeightFormat::kFloat8E4M3 ? static_cast<const void*>(w.gate_scales.data())
                                                                     : nullptr;
    const cpu::WeightMatrix m = cpu::WeightMatrix::Of(shape, w.gate.data(), scales, 0, kRows, cols);
    std::vector<float> x(static_cast<size_t>(n * cols)), y(static_cast<size_t>(n * kRows));
    FillUniform(x.data(), n * cols, 3);
    cpu::QuantizedRows quantized;
    std::vector<float> paired(static_cast<size_t>(n * cpu::PairColumns(cols)));
    std::vector<const float*> xp(static_cast<size_t>(n));
    std::vector<const float*> xb(static_cast<size_t>(n));
    for (int64_t t = 0; t < n; ++t) {
      xp[t] = x.data() + t * cols;
      xb[t] = paired.data() + t * cpu::PairColumns(cols);
    }
    cpu::ProjectionScratch scratch;
    std::vector<Timing> t = MeasureAlternating(repeats, isas.size(), [&](size_t i) {
      cpu::ForceIsa(isas[i]);
      const bool bf16_pairs = cpu::Bf16PairsApply(format);
      const bool integer = cpu::IntegerPathApplies(format, dims.block);
      if (integer) quantized.Reset(format, n, cols);  // the layout follows the ISA
      for (int64_t k = 0; k < n; ++k) {  // once per call, as MoeExperts does once per token
        if (integer) quantized.Quantize(k, xp[k]);
        if (bf16_pairs) cpu::PairBf16Row(xp[k], cols, paired.data() + k * cpu::PairColumns(cols));
      }
      for (int64_t call = 0; call < calls; ++call) {
        if (bf16_pairs)
          cpu::ProjectRowsBf16Pairs(m, 0, kRows, xb.data(), n, y.data(), kRows);
        else
          cpu::ProjectRows(m, 0, kRows, xp.data(), integer ? quantized.Rows() : nullptr, n, y.data(), kRows, scratch);
      }
    });
    for (size_t i = 0; i < isas.size(); ++i)
      std::printf("  %-4s %-6s %6.2f G weights per CPU-s, %6.1f GMAC per CPU-s\n", name, cpu::IsaName(isas[i]),
                  static_cast<double>(kRows * cols * calls) / t[i].cpu / 1e9,
                  static_cast<double>(kRows * cols * calls * n) / t[i].cpu / 1e9);
    std::fflush(stdout);
  }
}

// Relative rms error of the op (integer path: activations rounded to int8 per group of 128) against the exact
// reference (weights dequantised, double sums), one token on 8 of `experts` experts, with uniform activations and
// with 1% of them 20x larger (outliers, as real hidden states have).
void Accuracy(int64_t experts) {
  std::printf("int8/int4 integer path vs exact reference, 1 token, relative rms error of the output:\n");
  for (ExpertWeightFormat format : {ExpertWeightFormat::kInt8, ExpertWeightFormat::kInt4}) {
    const Weights w = MakeWeights(format, experts);
    for (bool outliers : {false, true}) {
      std::mt19937 rng(9);
      Call c = MakeCall(format, w, experts, 1, rng);
      if (outliers)
        for (size_t i = 0; i < c.hidden.size(); i += 100) c.hidden[i] *= 20.0f;
      cpu::MoeExperts(Pool(), c.shape, c.hidden.data(), c.ids.data(), c.weights.data(), c.ew, c.out.data());
      const std::vector<double> exact =
          reference::MoeExperts(c.shape, c.hidden.data(), c.ids.data(), c.weights.data(), c.ew);
      double err = 0, ref = 0;
      for (size_t i = 0; i < exact.size(); ++i) {
        err += (c.out[i] - exact[i]) * (c.out[i] - exact[i]);
        ref += exact[i] * exact[i];
      }
      std::printf("  %-4s %-22s %.5f\n", format == ExpertWeightFormat::kInt8 ? "int8" : "int4",
                  outliers ? "activations + outliers" : "uniform activations", std::sqrt(err / ref));
      std::fflush(stdout);
    }
  }
}

// The `small` preset's MoE layer (hidden 1024, expert width 384, top-4 of 32 experts; its artifacts use int8/int4
// groups of 64): decode (1-8 tokens) and prefill token counts, every format and group size.
void RunSmall(int repeats, Rate read, Rate peak) {
  dims = {1024, 384, 4, 128};
  // More than the preset's 32 experts (the kernel's cost does not depend on how many there are) so that the
  // rotating calls' weights, 192 MB in all, come from memory as a 12-layer model's do, not from the 32 MB L3.
  auto experts = [](ExpertWeightFormat f) {
    return std::max<int64_t>(32, static_cast<int64_t>(std::ceil(192e6 / ExpertBytes(f))));
  };
  const std::vector<int64_t> tokens{1, 2, 4, 8, 32, 128};  // GLM_BENCH_MAX_TOKENS=8: decode only (Run)
  const char* only = std::getenv("GLM_BENCH_FORMAT");  // fp32|bf16|fp8|int8|int4: just that one
  auto wanted = [&](const char* name) { return !only || std::strcmp(only, name) == 0; };
  if (wanted("fp32")) Run(ExpertWeightFormat::kFloat32, "fp32", experts(ExpertWeightFormat::kFloat32), repeats, read, peak, tokens, 8);
  if (wanted("bf16")) Run(ExpertWeightFormat::kBFloat16, "bf16", experts(ExpertWeightFormat::kBFloat16), repeats, read, peak, tokens, 8);
  if (wanted("fp8")) Run(ExpertWeightFormat::kFloat8E4M3, "fp8", experts(ExpertWeightFormat::kFloat8E4M3), repeats, read, peak, tokens, 8);
  const char* only_block = std::getenv("GLM_BENCH_BLOCK");  // 32|64|128: just that group size
  for (int64_t block : {32, 64, 128}) {
    if (only_block && std::atoll(only_block) != block) continue;
    dims.block = block;
    if (wanted("int8")) Run(ExpertWeightFormat::kInt8, "int8", experts(ExpertWeightFormat::kInt8), repeats, read, peak, tokens, 8);
    if (wanted("int4")) Run(ExpertWeightFormat::kInt4, "int4", experts(ExpertWeightFormat::kInt4), repeats, read, peak, tokens, 8);
  }
}

}  // namespace
}  // namespace glm_ops::bench

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 7;
  const int64_t experts = argc > 2 ? std::atoll(argv[2]) : 16;
  // "bf16", "fp8", "int8", "int4", "decode", "kernels" or "accuracy": just that part
  const char* only = argc > 3 ? argv[3] : "";
  using glm_ops::bench::Rate;
  if (std::strcmp(only, "small") == 0)
    std::printf("MoeExperts: hidden 1024, inter 384, top-4 (small preset); threads %d; median of %d\n",
                glm_ops::bench::Threads().Threads(), repeats);
  else
    std::printf("MoeExperts: hidden 6144, inter 2048, top-8 of %lld experts; threads %d; median of %d\n",
                static_cast<long long>(experts), glm_ops::bench::Threads().Threads(), repeats);
  if (!*only || std::strcmp(only, "decode") == 0) glm_ops::bench::BenchFp8Decoders(repeats);
  if (std::strcmp(only, "decode") == 0) return 0;
  // GLM_BENCH_BLOCK=G: int8/int4 groups of G columns (default 128; the slice's artifacts use 32).
  if (const char* block = std::getenv("GLM_BENCH_BLOCK"); block && std::strcmp(only, "small") != 0)
    glm_ops::bench::dims.block = std::atoll(block);
  if (!*only || std::strcmp(only, "kernels") == 0) glm_ops::bench::BenchProjection(repeats);
  if (std::strcmp(only, "kernels") == 0) return 0;
  if (!*only || std::strcmp(only, "accuracy") == 0) glm_ops::bench::Accuracy(experts);
  if (std::strcmp(only, "accuracy") == 0) return 0;
  const Rate read = glm_ops::bench::MeasureReadBandwidth(int64_t{1} << 30, repeats);
  const Rate peak = glm_ops::bench::MeasureFmaPeak(repeats);
  std::printf("plain read bandwidth (1 GiB, AVX2 sum, same thread pool): %.2f GB/s, per CPU-s %.2f GB/s\n",
              read.wall / 1e9, read.cpu / 1e9);
  std::printf("FMA peak (12 chains of 8-lane FMAs per thread): %.1f GFLOP/s, per CPU-s %.1f GFLOP/s\n",
              peak.wall / 1e9, peak.cpu / 1e9);
  if (std::strcmp(only, "small") == 0) {
    glm_ops::bench::RunSmall(repeats, read, peak);
    return 0;
  }
  if (!*only || std::strcmp(only, "bf16") == 0)
    glm_ops::bench::Run(glm_ops::ExpertWeightFormat::kBFloat16, "bf16", experts, repeats, read, peak);
  if (!*only || std::strcmp(only, "fp8") == 0)
    glm_ops::bench::Run(glm_ops::ExpertWeightFormat::kFloat8E4M3, "fp8", experts, repeats, read, peak);
  if (!*only || std::strcmp(only, "int8") == 0)
    glm_ops::bench::Run(glm_ops::ExpertWeightFormat::kInt8, "int8", experts, repeats, read, peak);
  if (!*only || std::strcmp(only, "int4") == 0)
    glm_ops::bench::Run(glm_ops::ExpertWeightFormat::kInt4, "int4", experts, repeats, read, peak);
  return 0;
}
