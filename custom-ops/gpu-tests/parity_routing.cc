// MoeRouting parity: CUDA (or, in a dry run, the scalar reference of src/reference) against cpu::MoeRouting: chosen
// ids must match in order, weights to float rounding.
#include <string>
#include <vector>

#include "compare.h"
#include "cpu/moe_routing.h"
#include "cuda/moe_routing_cuda.h"
#include "device_buffer.h"
#include "host_types.h"
#include "reference/moe_routing.h"
#include "parity_options.h"

namespace glm_ops::gpu {

namespace {

struct RoutingCase {
  std::string name;
  int64_t tokens, experts, top_k, n_group, topk_group;
  float scaling;
  bool norm;
};

void RunCase(const RoutingCase& c, cuda::Activation type, const ParityOptions& options, ParityReport& report,
             uint32_t seed) {
  std::vector<float> logits = FastUniform(seed, c.tokens * c.experts, -4.f, 4.f);
  std::vector<float> bias = FastUniform(seed + 1, c.experts, -0.2f, 0.2f);
  const bool bf16 = type == cuda::Activation::kBFloat16;
  std::vector<uint16_t> logits16;
  if (bf16) logits16 = RoundToBf16(logits);
  MoeRoutingAttributes a;
  a.top_k = c.top_k;
  a.n_group = c.n_group;
  a.topk_group = c.topk_group;
  a.norm_topk_prob = c.norm;
  a.routed_scaling_factor = c.scaling;
  const MoeRoutingShape shape =
      ValidateMoeRouting({DType::kFloat32, {c.tokens, c.experts}}, {DType::kFloat32, {c.experts}}, a);
  const size_t n = static_cast<size_t>(c.tokens * c.top_k);
  std::vector<int32_t> ref_ids(n), cand_ids(n);
  std::vector<float> ref_w(n), cand_w(n);
  auto start = std::chrono::steady_clock::now();
  cpu::MoeRouting(HostThreads(), shape, logits.data(), bias.data(), ref_ids.data(), ref_w.data());
  const double cpu_ms = MillisecondsSince(start);
  double cand_ms = 0;
  if (options.candidate == Candidate::kCuda) {
    DeviceBuffer dl = bf16 ? DeviceBuffer::From(logits16) : DeviceBuffer::From(logits);
    DeviceBuffer db = DeviceBuffer::From(bias);
    DeviceBuffer di(n * sizeof(int32_t)), dw(n * sizeof(float));
    GLM_CUDA_CHECK(cudaDeviceSynchronize());
    start = std::chrono::steady_clock::now();
    cuda::MoeRouting(shape, type, dl.get(), db.as<float>(), di.as<int32_t>(), dw.as<float>(), nullptr);
    GLM_CUDA_CHECK(cudaDeviceSynchronize());
    cand_ms = MillisecondsSince(start);
    cand_ids = di.Download<int32_t>();
    cand_w = dw.Download<float>();
  } else {
    start = std::chrono::steady_clock::now();
    reference::MoeRouting(shape, logits.data(), bias.data(), cand_ids.data(), cand_w.data());
    cand_ms = MillisecondsSince(start);
  }
  int64_t same = 0;
  for (size_t i = 0; i < n; ++i) same += cand_ids[i] == ref_ids[i];
  const FloatError err = CompareFloats(cand_w, ref_w);
  ParityRow row;
  row.op = "MoeRouting";
  row.name = c.name;
  row.dtype = DtypeLabel(type);
  row.tokens = c.tokens;
  row.max_abs = err.max_abs;
  row.max_rel = err.max_rel;
  row.tolerance = 1e-5 * std::max(1.0, err.ref_max);
  row.overlap_min = row.overlap_mean = static_cast<double>(same) / static_cast<double>(n);
  row.cpu_ms = cpu_ms;
  row.candidate_ms = cand_ms;
  row.pass = same == static_cast<int64_t>(n) && err.max_abs <= row.tolerance && err.non_finite == 0;
  row.note = "overlap = ids equal in order";
  report.Add(row);
}

}  // namespace

void RunRoutingParity(const ParityOptions& options, ParityReport& report) {
  std::vector<RoutingCase> cases;
  if (options.tiny) {
    cases.push_back({"tiny 16 experts groups 4/2 top4", 37, 16, 4, 4, 2, 1.0f, true});
    cases.push_back({"tiny 8 experts no norm scale 2", 5, 8, 2, 1, 1, 2.0f, false});
    cases.push_back({"tiny 40 experts groups 8/3 top6", 9, 40, 6, 8, 3, 1.5f, true});
  }
  if (options.real) {
    cases.push_back({"real 256 experts top8 T1", 1, 256, 8, 1, 1, 2.5f, true});
    cases.push_back({"real 256 experts top8 T64", 64, 256, 8, 1, 1, 2.5f, true});
    cases.push_back({"real 256 experts top8 T4096", 4096, 256, 8, 1, 1, 2.5f, true});
    cases.push_back({"real 256 experts groups 8/4 T300", 300, 256, 8, 8, 4, 2.5f, true});
  }
  uint32_t seed = 3000;
  for (const RoutingCase& c : cases)
    for (cuda::Activation type : {cuda::Activation::kFloat32, cuda::Activation::kBFloat16})
      RunCase(c, type, options, report, ++seed);
}

}  // namespace glm_ops::gpu
