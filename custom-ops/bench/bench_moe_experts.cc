// MoeExperts benchmark at GLM-5.2 widths (hidden 6144, expert width 2048, top-8) over 16 stacked experts, for 1, 8
// and 64 tokens with bf16 and block-FP8 weights. Effective weight bandwidth = bytes of the distinct experts a call
// touches / median time, compared with a plain read bandwidth measured by this program on this machine.
//   bench_moe_experts [repeats] [experts]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <random>
#include <set>
#include <vector>

#include "bench_util.h"
#include "cpu/moe_experts.h"

namespace glm_ops::bench {
namespace {

constexpr int64_t kHidden = 6144, kInter = 2048, kTopK = 8, kBlock = 128;

struct Weights {
  std::vector<uint8_t> gate, up, down;  // raw bytes in the format's element type
  std::vector<float> gate_scales, up_scales, down_scales;
};

Weights MakeWeights(ExpertWeightFormat format, int64_t experts) {
  const int64_t element = format == ExpertWeightFormat::kBFloat16 ? 2 : 1;
  const int64_t matrix = kInter * kHidden * element;
  Weights w;
  std::vector<float> values(static_cast<size_t>(kInter * kHidden));
  for (std::vector<uint8_t>* m : {&w.gate, &w.up, &w.down}) {
    m->resize(static_cast<size_t>(experts * matrix));
    for (int64_t e = 0; e < experts; ++e) {
      FillUniform(values.data(), static_cast<int64_t>(values.size()), static_cast<uint64_t>(e + 1));
      uint8_t* dst = m->data() + e * matrix;
      for (size_t i = 0; i < values.size(); ++i) {
        if (format == ExpertWeightFormat::kBFloat16) {
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
    const int64_t scales = experts * (kInter / kBlock) * (kHidden / kBlock);
    w.gate_scales.assign(static_cast<size_t>(scales), 0.01f);
    w.up_scales.assign(static_cast<size_t>(scales), 0.01f);
    w.down_scales.assign(static_cast<size_t>(scales), 0.01f);
  }
  return w;
}

void Run(ExpertWeightFormat format, const char* name, int64_t experts, int repeats, double read_bandwidth) {
  const Weights w = MakeWeights(format, experts);
  const bool fp8 = format == ExpertWeightFormat::kFloat8E4M3;
  const double expert_bytes = 3.0 * kInter * kHidden * (format == ExpertWeightFormat::kBFloat16 ? 2 : 1) +
                              (fp8 ? 3.0 * (kInter / kBlock) * (kHidden / kBlock) * 4 : 0.0);
  std::mt19937 rng(5);
  for (int64_t tokens : {1, 8, 64}) {
    std::vector<float> hidden(static_cast<size_t>(tokens * kHidden)), out(hidden.size());
    FillUniform(hidden.data(), static_cast<int64_t>(hidden.size()), 77);
    std::vector<int32_t> ids;
    std::vector<float> weights(static_cast<size_t>(tokens * kTopK), 0.125f);
    std::set<int32_t> touched;
    for (int64_t t = 0; t < tokens; ++t) {
      std::vector<int32_t> all(static_cast<size_t>(experts));
      for (int64_t e = 0; e < experts; ++e) all[e] = static_cast<int32_t>(e);
      std::shuffle(all.begin(), all.end(), rng);
      for (int64_t k = 0; k < std::min(kTopK, experts); ++k) {
        ids.push_back(all[k]);
        touched.insert(all[k]);
      }
    }
    const int64_t top_k = std::min(kTopK, experts);
    const DType dtype = fp8 ? DType::kFloat8E4M3FN : DType::kBFloat16;
    MoeExpertsInputs in;
    in.hidden = {DType::kFloat32, {tokens, kHidden}};
    in.expert_ids = {DType::kInt32, {tokens, top_k}};
    in.expert_weights = {DType::kFloat32, {tokens, top_k}};
    in.gate_weights = {dtype, {experts, kInter, kHidden}};
    in.up_weights = {dtype, {experts, kInter, kHidden}};
    in.down_weights = {dtype, {experts, kHidden, kInter}};
    in.has_gate_scales = in.has_up_scales = in.has_down_scales = fp8;
    in.gate_scales = in.up_scales = {DType::kFloat32, {experts, kInter / kBlock, kHidden / kBlock}};
    in.down_scales = {DType::kFloat32, {experts, kHidden / kBlock, kInter / kBlock}};
    const MoeExpertsShape shape = ValidateMoeExperts(in, {kBlock});
    const cpu::ExpertWeights ew{w.gate.data(), w.up.data(), w.down.data(),
                                fp8 ? w.gate_scales.data() : nullptr, fp8 ? w.up_scales.data() : nullptr,
                                fp8 ? w.down_scales.data() : nullptr};
    const Timing t = Measure(repeats, [&] {
      cpu::MoeExperts(shape, hidden.data(), ids.data(), weights.data(), ew, out.data());
    });
    const double bytes = expert_bytes * static_cast<double>(touched.size());
    const double bandwidth = bytes / t.wall;
    const double flops = 2.0 * 3.0 * kInter * kHidden * static_cast<double>(tokens * top_k);
    std::printf("%-5s tokens %3lld experts touched %3zu | %9.3f ms (cpu %9.3f ms) | weights %7.2f GB/s = %5.2f x read "
                "bandwidth | %7.1f GFLOP/s\n",
                name, static_cast<long long>(tokens), touched.size(), t.wall * 1e3, t.cpu * 1e3, bandwidth / 1e9,
                bandwidth / read_bandwidth, flops / t.wall / 1e9);
    std::fflush(stdout);
  }
}

}  // namespace
}  // namespace glm_ops::bench

int main(int argc, char** argv) {
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 7;
  const int64_t experts = argc > 2 ? std::atoll(argv[2]) : 16;
  const double read = glm_ops::bench::MeasureReadBandwidth(int64_t{1} << 30, repeats);
  std::printf("MoeExperts: hidden 6144, inter 2048, top-8 of %lld experts; threads %d; median of %d\n",
              static_cast<long long>(experts), glm_ops::cpu::ThreadCount(), repeats);
  std::printf("plain read bandwidth (1 GiB, AVX2 sum, same thread pool): %.2f GB/s\n", read / 1e9);
  glm_ops::bench::Run(glm_ops::ExpertWeightFormat::kBFloat16, "bf16", experts, repeats, read);
  glm_ops::bench::Run(glm_ops::ExpertWeightFormat::kFloat8E4M3, "fp8", experts, repeats, read);
  return 0;
}
