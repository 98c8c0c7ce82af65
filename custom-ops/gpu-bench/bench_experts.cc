// MoE experts at GLM-5.2 widths: hidden 6144, expert width 2048, 256 experts, top-8, bf16 activations, FP8 and
// bf16 weights, for 1, 8, 64 and 256 tokens. Bytes = the weights of every expert the step routes to (read once
// each), which is the floor for a grouped kernel.
#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "bench_cases.h"
#include "cuda/moe_experts_cuda.h"
#include "device_buffer.h"
#include "fill.h"

namespace glm_ops::gpu {

void BenchExperts(const BenchOptions& options, BenchReport& report) {
  constexpr int64_t kHidden = 6144, kInter = 2048, kExperts = 256, kTopK = 8, kQb = 128;
  const int64_t matrix = kHidden * kInter;
  const std::vector<int64_t> token_counts = options.quick ? std::vector<int64_t>{1, 64}
                                                          : std::vector<int64_t>{1, 8, 64, 256};
  for (ExpertWeightFormat format : {ExpertWeightFormat::kFloat8E4M3, ExpertWeightFormat::kBFloat16}) {
    const bool fp8 = format == ExpertWeightFormat::kFloat8E4M3;
    const size_t element = fp8 ? 1 : 2;
    DeviceBuffer gate(kExperts * matrix * element), up(kExperts * matrix * element), down(kExperts * matrix * element);
    const int64_t scale_count = kExperts * (kInter / kQb) * (kHidden / kQb);
    DeviceBuffer gate_s(fp8 ? scale_count * 4 : 0), up_s(fp8 ? scale_count * 4 : 0), down_s(fp8 ? scale_count * 4 : 0);
    if (fp8) {
      FillE4M3(gate.as<uint8_t>(), kExperts * matrix, 1, nullptr);
      FillE4M3(up.as<uint8_t>(), kExperts * matrix, 2, nullptr);
      FillE4M3(down.as<uint8_t>(), kExperts * matrix, 3, nullptr);
      FillUniformF32(gate_s.as<float>(), scale_count, 4, 1e-4f, 2e-4f, nullptr);
      FillUniformF32(up_s.as<float>(), scale_count, 5, 1e-4f, 2e-4f, nullptr);
      FillUniformF32(down_s.as<float>(), scale_count, 6, 1e-4f, 2e-4f, nullptr);
    } else {
      FillUniformBf16(gate.get(), kExperts * matrix, 1, -0.05f, 0.05f, nullptr);
      FillUniformBf16(up.get(), kExperts * matrix, 2, -0.05f, 0.05f, nullptr);
      FillUniformBf16(down.get(), kExperts * matrix, 3, -0.05f, 0.05f, nullptr);
    }
    const cuda::DeviceExpertWeights weights{gate.get(), up.get(), down.get(), gate_s.as<float>(), up_s.as<float>(),
                                            down_s.as<float>()};
    for (int64_t tokens : token_counts) {
      std::mt19937 rng(static_cast<uint32_t>(tokens));
      std::vector<int32_t> ids(static_cast<size_t>(tokens * kTopK)), all(kExperts);
      for (int64_t e = 0; e < kExperts; ++e) all[e] = static_cast<int32_t>(e);
      std::set<int32_t> touched;
      for (int64_t t = 0; t < tokens; ++t) {
        std::shuffle(all.begin(), all.end(), rng);
        for (int64_t k = 0; k < kTopK; ++k) touched.insert(ids[t * kTopK + k] = all[k]);
      }
      std::vector<float> routing(ids.size(), 0.125f);
      DeviceBuffer d_ids = DeviceBuffer::From(ids), d_routing = DeviceBuffer::From(routing);
      DeviceBuffer hidden(tokens * kHidden * 2), out(tokens * kHidden * 2);
      FillUniformBf16(hidden.get(), tokens * kHidden, 7, -1.f, 1.f, nullptr);
      MoeExpertsShape shape{tokens, kHidden, kTopK, kExperts, kInter, kQb, format};
      DeviceBuffer workspace(cuda::MoeExpertsWorkspaceBytes(shape));
      auto call = [&] {
        cuda::MoeExperts(shape, cuda::Activation::kBFloat16, hidden.get(), d_ids.as<int32_t>(),
                         d_routing.as<float>(), weights, out.get(), workspace.get(), workspace.bytes(), nullptr);
      };
      const Timing timing = TimeCalls(call, options.iterations);
      const double expert_bytes = 3.0 * matrix * element + (fp8 ? 3.0 * (kInter / kQb) * (kHidden / kQb) * 4 : 0);
      const double bytes = touched.size() * expert_bytes + 2.0 * tokens * kHidden * 2;
      const std::string config = std::string(fp8 ? "fp8" : "bf16") + " T=" + std::to_string(tokens) + " (" +
                                 std::to_string(touched.size()) + " experts)";
      report.Add("MoeExperts", config, timing, bytes, tokens == 1 ? ">=70% of copy" : "");
    }
  }
}

}  // namespace glm_ops::gpu
