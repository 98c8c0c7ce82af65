// MoeExperts parity: CUDA (or, in a dry run, the scalar reference of src/reference) against cpu::MoeExperts for
// float32, bf16, block-FP8, int8 and int4 weights, float32 and bf16 activations, vector and scalar load paths, several
// tokens per expert, with and without shared experts (S1/S2: the last stacked experts run on every token). The CPU's
// integer path (int8/int4, G a multiple of 32, any number of tokens per expert) rounds the activations to int8 per
// group (docs/onnx-contract.md), so those rows compare at a wider tolerance.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "compare.h"
#include "cpu/moe_experts.h"
#include "cuda/moe_experts_cuda.h"
#include "device_buffer.h"
#include "host_types.h"
#include "reference/moe_experts.h"
#include "parity_options.h"
#include "stored_weights.h"

namespace glm_ops::gpu {

namespace {

struct ExpertsCase {
  std::string name;
  int64_t tokens, hidden, inter, experts, top_k, quant_block;
  ExpertWeightFormat format;
  int64_t shared = 0;  // shared_experts: the last `shared` of the `experts` stacked ones
};

struct CaseWeights {
  StoredWeights gate, up, down;
};

// Generated once per case and shared by the float32 and bf16 activation runs (GBs at real widths).
CaseWeights MakeCaseWeights(const ExpertsCase& c, uint32_t seed) {
  return {MakeWeights(seed + 10, c.format, c.experts, c.inter, c.hidden, c.quant_block),
          MakeWeights(seed + 20, c.format, c.experts, c.inter, c.hidden, c.quant_block),
          MakeWeights(seed + 30, c.format, c.experts, c.hidden, c.inter, c.quant_block)};
}

void RunCase(const ExpertsCase& c, const CaseWeights& weights, cuda::Activation type, const ParityOptions& options,
             ParityReport& report, uint32_t seed) {
  const bool reference_candidate = options.candidate == Candidate::kReference;
  const StoredWeights& gate = weights.gate;
  const StoredWeights& up = weights.up;
  const StoredWeights& down = weights.down;
  std::vector<float> hidden = FastUniform(seed + 1, c.tokens * c.hidden, -1.f, 1.f);
  const bool bf16 = type == cuda::Activation::kBFloat16;
  std::vector<uint16_t> hidden16;
  if (bf16) hidden16 = RoundToBf16(hidden);
  std::mt19937 rng(seed);
  std::vector<int32_t> ids(static_cast<size_t>(c.tokens * c.top_k));
  std::vector<int32_t> all(static_cast<size_t>(c.experts - c.shared));  // the router picks routed experts only
  for (size_t e = 0; e < all.size(); ++e) all[e] = static_cast<int32_t>(e);
  for (int64_t t = 0; t < c.tokens; ++t) {
    std::shuffle(all.begin(), all.end(), rng);
    std::copy(all.begin(), all.begin() + c.top_k, ids.begin() + t * c.top_k);
  }
  std::vector<float> routing = FastUniform(seed + 2, ids.size(), 0.05f, 0.5f);

  const bool fp8 = c.format == ExpertWeightFormat::kFloat8E4M3;
  const bool integer = IsInteger(c.format), int4 = c.format == ExpertWeightFormat::kInt4;
  const bool scaled = fp8 || integer;
  const DType wtype = fp8                                       ? DType::kFloat8E4M3FN
                      : c.format == ExpertWeightFormat::kInt8   ? DType::kInt8
                      : int4                                    ? DType::kUInt8
                      : c.format == ExpertWeightFormat::kBFloat16 ? DType::kBFloat16
                                                                  : DType::kFloat32;
  auto stored = [&](int64_t cols) { return int4 ? (cols + 1) / 2 : cols; };
  MoeExpertsInputs in;
  in.hidden = {DType::kFloat32, {c.tokens, c.hidden}};
  in.expert_ids = {DType::kInt32, {c.tokens, c.top_k}};
  in.expert_weights = {DType::kFloat32, {c.tokens, c.top_k}};
  in.gate_weights = {wtype, {c.experts, c.inter, stored(c.hidden)}};
  in.up_weights = {wtype, {c.experts, c.inter, stored(c.hidden)}};
  in.down_weights = {wtype, {c.experts, c.hidden, stored(c.inter)}};
  const int64_t qb = c.quant_block;
  if (fp8) {
    in.has_gate_scales = in.has_up_scales = in.has_down_scales = true;
    in.gate_scales = {DType::kFloat32, {c.experts, (c.inter + qb - 1) / qb, (c.hidden + qb - 1) / qb}};
    in.up_scales = in.gate_scales;
    in.down_scales = {DType::kFloat32, {c.experts, (c.hidden + qb - 1) / qb, (c.inter + qb - 1) / qb}};
  } else if (integer) {
    in.has_gate_scales = in.has_up_scales = in.has_down_scales = true;
    in.gate_scales = {DType::kFloat16, {c.experts, c.inter, (c.hidden + qb - 1) / qb}};
    in.up_scales = in.gate_scales;
    in.down_scales = {DType::kFloat16, {c.experts, c.hidden, (c.inter + qb - 1) / qb}};
  }
  MoeExpertsAttributes attributes;
  attributes.quant_block_size = c.quant_block;
  if (int4) attributes.weight_format = "int4";
  attributes.shared_experts = c.shared;
  const MoeExpertsShape shape = ValidateMoeExperts(in, attributes);
  CheckExpertIds(shape, ids.data());

  std::vector<float> ref_out(static_cast<size_t>(c.tokens * c.hidden)), cand_out(ref_out.size());
  const cpu::ExpertWeights cpu_w{gate.bytes.data(),
                                 up.bytes.data(),
                                 down.bytes.data(),
                                 scaled ? gate.Scales() : nullptr,
                                 scaled ? up.Scales() : nullptr,
                                 scaled ? down.Scales() : nullptr};
  auto start = std::chrono::steady_clock::now();
  cpu::MoeExperts(HostThreads(), shape, hidden.data(), ids.data(), routing.data(), cpu_w, ref_out.data());
  const double cpu_ms = MillisecondsSince(start);

  double cand_ms = 0;
  if (!reference_candidate) {
    DeviceBuffer dh = bf16 ? DeviceBuffer::From(hidden16) : DeviceBuffer::From(hidden);
    DeviceBuffer di = DeviceBuffer::From(ids), dr = DeviceBuffer::From(routing);
    DeviceBuffer dg = DeviceBuffer::From(gate.bytes), du = DeviceBuffer::From(up.bytes);
    DeviceBuffer dd = DeviceBuffer::From(down.bytes);
    DeviceBuffer dgs = integer ? DeviceBuffer::From(gate.half_scales) : DeviceBuffer::From(gate.scales);
    DeviceBuffer dus = integer ? DeviceBuffer::From(up.half_scales) : DeviceBuffer::From(up.scales);
    DeviceBuffer dds = integer ? DeviceBuffer::From(down.half_scales) : DeviceBuffer::From(down.scales);
    DeviceBuffer dout(ref_out.size() * (bf16 ? 2 : 4));
    DeviceBuffer workspace(cuda::MoeExpertsWorkspaceBytes(shape));
    const cuda::DeviceExpertWeights w{dg.get(), du.get(), dd.get(), scaled ? dgs.get() : nullptr,
                                      scaled ? dus.get() : nullptr, scaled ? dds.get() : nullptr};
    GLM_CUDA_CHECK(cudaDeviceSynchronize());
    start = std::chrono::steady_clock::now();
    cuda::MoeExperts(shape, type, dh.get(), di.as<int32_t>(), dr.as<float>(), w, dout.get(), workspace.get(),
                     workspace.bytes(), nullptr);
    GLM_CUDA_CHECK(cudaDeviceSynchronize());
    cand_ms = MillisecondsSince(start);
    cand_out = bf16 ? Bf16ToFloat(dout.Download<uint16_t>()) : dout.Download<float>();
    uint32_t invalid = 0;
    GLM_CUDA_CHECK(cudaMemcpy(&invalid, cuda::MoeExpertsInvalidIdCount(shape, workspace.get()), sizeof invalid,
                              cudaMemcpyDeviceToHost));
    if (invalid) throw std::runtime_error("MoeExperts (CUDA) reported invalid expert ids for valid input");
  } else {
    start = std::chrono::steady_clock::now();
    cand_out = ToFloats(reference::MoeExperts(shape, hidden.data(), ids.data(), routing.data(), cpu_w));
    cand_ms = MillisecondsSince(start);
    if (bf16)
      for (float& v : cand_out) v = FromBf16(ToBf16(v));
  }

  const FloatError err = CompareFloats(cand_out, ref_out);
  ParityRow row;
  row.op = "MoeExperts";
  row.name = c.name + " " + FormatName(c.format);
  row.dtype = DtypeLabel(type);
  row.tokens = c.tokens;
  row.max_abs = err.max_abs;
  row.max_rel = err.max_rel;
  // Relative to the largest output. The CPU's integer path (int8/int4 weights, G a multiple of 32) rounds activations
  // to int8 per group: about 1% rms, a few % at the worst element.
  const bool integer_path = integer && qb % 32 == 0;
  row.tolerance = (integer_path ? 5e-2 : bf16 ? 8e-3 : 1e-4) * err.ref_max + 1e-9;
  row.cpu_ms = cpu_ms;
  row.candidate_ms = cand_ms;
  row.pass = err.non_finite == 0 && err.max_abs <= row.tolerance;
  report.Add(row);
}

}  // namespace

void RunExpertsParity(const ParityOptions& options, ParityReport& report) {
  std::vector<ExpertsCase> cases;
  const ExpertWeightFormat formats[] = {ExpertWeightFormat::kFloat32, ExpertWeightFormat::kBFloat16,
                                        ExpertWeightFormat::kFloat8E4M3, ExpertWeightFormat::kInt8,
                                        ExpertWeightFormat::kInt4};
  for (ExpertWeightFormat f : formats) {
    if (options.tiny) {
      cases.push_back({"tiny T5 64x32 E8 top2", 5, 64, 32, 8, 2, 16, f});
      cases.push_back({"tiny T40 64x48 E4 top3 (tiles)", 40, 64, 48, 4, 3, 16, f});
      cases.push_back({"tiny odd 40x24 qb8 (scalar path)", 7, 40, 24, 6, 2, 8, f});
      if (IsInteger(f)) {
        // G 32 and 128: the CPU's integer path; odd widths for int4's half bytes, K not a multiple of G.
        cases.push_back({"tiny T5 96x64 E8 top2 G32 (CPU integer path)", 5, 96, 64, 8, 2, 32, f});
        cases.push_back({"tiny T3 200x45 E2 top2 G128 (odd, cropped groups)", 3, 200, 45, 2, 2, 128, f});
      }
    }
    if (options.real) {
      cases.push_back({"real T1 6144x2048 E16 top8", 1, 6144, 2048, 16, 8, 128, f});
      if (f != ExpertWeightFormat::kFloat32)
        cases.push_back({"real T64 6144x2048 E16 top8", 64, 6144, 2048, 16, 8, 128, f});
    }
  }
  // Shared experts: each is one more route of every token (a decode step, token tiles, the scalar load path).
  for (ExpertWeightFormat f : formats) {
    if (options.tiny)
      for (int64_t shared : {1, 2}) {
        const std::string tag = " S" + std::to_string(shared);
        cases.push_back({"tiny T1 64x32 E8 top2" + tag + " (decode)", 1, 64, 32, 8, 2, 16, f, shared});
        cases.push_back({"tiny T40 64x48 E6 top3" + tag + " (tiles)", 40, 64, 48, 6, 3, 16, f, shared});
        cases.push_back({"tiny odd 40x24 qb8" + tag + " (scalar path)", 7, 40, 24, 6, 2, 8, f, shared});
        if (IsInteger(f)) {
          cases.push_back(
              {"tiny T12 96x64 E8 top2 G32" + tag + " (CPU integer path)", 12, 96, 64, 8, 2, 32, f, shared});
          // 24 tokens on each shared expert: the CPU's whole DenseProjection calls (cpu/moe_whole_calls.h).
          cases.push_back({"tiny T24 96x64 E8 top2 G32" + tag + " (CPU whole calls)", 24, 96, 64, 8, 2, 32, f, shared});
        }
      }
    if (options.real) {
      cases.push_back({"real T1 6144x2048 E16 top8 S1", 1, 6144, 2048, 16, 8, 128, f, 1});
      if (f != ExpertWeightFormat::kFloat32)
        cases.push_back({"real T64 6144x2048 E16 top8 S2", 64, 6144, 2048, 16, 8, 128, f, 2});
    }
  }
  uint32_t seed = 4000;
  for (const ExpertsCase& c : cases) {
    const CaseWeights weights = MakeCaseWeights(c, seed);
    for (cuda::Activation type : {cuda::Activation::kFloat32, cuda::Activation::kBFloat16})
      RunCase(c, weights, type, options, report, ++seed);
  }
}

}  // namespace glm_ops::gpu
