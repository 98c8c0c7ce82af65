// DenseProjection parity: CUDA (or, in a dry run, the scalar reference of src/reference) against the CPU node
// (cpu::DenseProjectionNode) for float32, bf16, block-FP8, int8 and int4 weights, vector and scalar load paths (in a
// multiple of 8 or not), decode and prefill token counts (the CPU kernel's row-projection and blocked-GEMM paths),
// cropped FP8 edge blocks, grouped (per-head) FP8 projections as the converter writes W_UK^T / W_UV from a block-FP8
// kv_b_proj, and the node's input activation "swiglu" and addend (a shared expert's down projection reading its
// [gate | up] rows and adding the routed experts' sum).
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "compare.h"
#include "cpu/dense_projection_node.h"
#include "cuda/cuda_check.h"
#include "cuda/dense_projection_node_cuda.h"
#include "device_buffer.h"
#include "host_types.h"
#include "parity_options.h"
#include "stored_weights.h"
#include "reference/dense_projection.h"

namespace glm_ops::gpu {

namespace {

struct DenseCase {
  std::string name;
  int64_t tokens, in, out, quant_block;
  ExpertWeightFormat format;
  int64_t groups = 1;  // > 1: MLA's per-head projection, input [T, groups * in], out / groups rows per group
  bool swiglu = false;  // input_activation "swiglu": input [T, 2 * in] = [gate | up]
  bool addend = false;  // the optional addend [T, out]
};

std::string NodeSuffix(const DenseCase& c) {
  return std::string(c.swiglu ? " swiglu" : "") + (c.addend ? " +addend" : "");
}

void RunCase(const DenseCase& c, const ParityOptions& options, ParityReport& report, uint32_t seed) {
  const StoredWeights weight = MakeWeights(seed + 10, c.format, 1, c.out, c.in, c.quant_block);
  // Gates in [-4, 4] reach both SiLU's near-zero tail and its near-linear side; other inputs stay in [-1, 1].
  const int64_t input_width = c.swiglu ? 2 * c.in : c.groups * c.in;
  const std::vector<float> input =
      FastUniform(seed + 1, static_cast<size_t>(c.tokens * input_width), c.swiglu ? -4.f : -1.f, c.swiglu ? 4.f : 1.f);
  const std::vector<float> addend =
      c.addend ? FastUniform(seed + 2, static_cast<size_t>(c.tokens * c.out), -1.f, 1.f) : std::vector<float>{};
  const bool fp8 = c.format == ExpertWeightFormat::kFloat8E4M3;
  const bool int4 = c.format == ExpertWeightFormat::kInt4;
  const int64_t qb = c.quant_block;
  DenseProjectionInputs in;
  in.input = {DType::kFloat32, {c.tokens, input_width}};
  const DType wtype = fp8                                         ? DType::kFloat8E4M3FN
                      : c.format == ExpertWeightFormat::kBFloat16 ? DType::kBFloat16
                      : c.format == ExpertWeightFormat::kInt8     ? DType::kInt8
                      : int4                                      ? DType::kUInt8
                                                                  : DType::kFloat32;
  in.weight = {wtype, {c.out, int4 ? (c.in + 1) / 2 : c.in}};
  in.has_scales = ExpertFormatHasScales(c.format);
  if (fp8) in.scales = {DType::kFloat32, {(c.out + qb - 1) / qb, (c.in + qb - 1) / qb}};
  if (in.has_scales && !fp8) in.scales = {DType::kFloat16, {c.out, (c.in + qb - 1) / qb}};
  in.has_addend = c.addend;
  if (c.addend) in.addend = {DType::kFloat32, {c.tokens, c.out}};
  DenseProjectionAttributes attributes;
  attributes.quant_block_size = qb;
  attributes.groups = c.groups;
  if (int4) attributes.weight_format = "int4";
  if (c.swiglu) attributes.input_activation = "swiglu";
  const DenseProjectionShape shape = ValidateDenseProjection(in, attributes);
  const DenseWeight host_w{weight.bytes.data(), ExpertFormatHasScales(c.format) ? weight.Scales() : nullptr};

  std::vector<float> ref_out(static_cast<size_t>(c.tokens * c.out)), cand_out;
  auto start = std::chrono::steady_clock::now();
  const float* host_addend = c.addend ? addend.data() : nullptr;
  cpu::DenseProjectionNode(HostThreads(), shape, input.data(), host_w, host_addend, ref_out.data());
  const double cpu_ms = MillisecondsSince(start);

  double cand_ms = 0;
  if (options.candidate == Candidate::kCuda) {
    DeviceBuffer dx = DeviceBuffer::From(input), dw = DeviceBuffer::From(weight.bytes);
    DeviceBuffer ds = fp8 ? DeviceBuffer::From(weight.scales) : DeviceBuffer::From(weight.half_scales);
    DeviceBuffer dy(ref_out.size() * sizeof(float)), da = DeviceBuffer::From(addend);
    DeviceBuffer workspace(cuda::DenseProjectionNodeWorkspaceBytes(shape));  // the wrapper's Scratch
    const DenseWeight device_w{dw.get(), in.has_scales ? static_cast<const void*>(ds.get()) : nullptr};
    GLM_CUDA_CHECK(cudaDeviceSynchronize());
    start = std::chrono::steady_clock::now();
    cuda::DenseProjectionNode(shape, dx.as<float>(), device_w, c.addend ? da.as<float>() : nullptr, dy.as<float>(),
                              workspace.get(), workspace.bytes(), nullptr);
    GLM_CUDA_CHECK(cudaDeviceSynchronize());
    cand_ms = MillisecondsSince(start);
    cand_out = dy.Download<float>();
  } else {
    start = std::chrono::steady_clock::now();
    cand_out = ToFloats(reference::DenseProjectionNode(shape, input.data(), host_w, host_addend));
    cand_ms = MillisecondsSince(start);
  }

  const FloatError err = CompareFloats(cand_out, ref_out);
  ParityRow row;
  row.op = "DenseProjection";
  row.name = c.name + " " + FormatName(c.format) + NodeSuffix(c);
  row.dtype = "f32";
  row.tokens = c.tokens;
  row.max_abs = err.max_abs;
  row.max_rel = err.max_rel;
  row.tolerance = 1e-4 * err.ref_max + 1e-9;  // float32 sums in different orders, relative to the largest output
  row.cpu_ms = cpu_ms;
  row.candidate_ms = cand_ms;
  row.pass = err.non_finite == 0 && err.max_abs <= row.tolerance;
  report.Add(row);
}

}  // namespace

void RunDenseParity(const ParityOptions& options, ParityReport& report) {
  std::vector<DenseCase> cases;
  // int8/int4 use group sizes that are not multiples of 32 (16, 8, 48, 24): the CPU kernel then multiplies exactly,
  // as the CUDA kernel does (with groups of 32 or 128 the CPU rounds activations to int8 at every token count, off by
  // ~3e-3 x max|y|, beyond the tolerance). `exact(qb, int_qb)`: the block for float formats, the group for integers.
  for (ExpertWeightFormat f : {ExpertWeightFormat::kFloat32, ExpertWeightFormat::kBFloat16,
                               ExpertWeightFormat::kFloat8E4M3, ExpertWeightFormat::kInt8, ExpertWeightFormat::kInt4}) {
    auto exact = [f](int64_t qb, int64_t int_qb) { return IsInteger(f) ? int_qb : qb; };
    if (options.tiny) {
      cases.push_back({"tiny T1 in64 out40", 1, 64, 40, 16, f});
      cases.push_back({"tiny T8 in136 out50 (vector, cropped blocks)", 8, 136, 50, 48, f});
      cases.push_back({"tiny T3 in37 out19 qb8 (scalar path)", 3, 37, 19, 8, f});
      cases.push_back({"tiny T33 in200 out70 (token tiles)", 33, 200, 70, exact(64, 48), f});
      cases.push_back({"tiny T70 in300 out40 (CPU GEMM)", 70, 300, 40, exact(128, 48), f});
      // Grouped (per-head W_UK / W_UV): FP8 groups start on a scale block, so rows per group = the block.
      cases.push_back({"tiny T1 groups4 in64 out4x16", 1, 64, 64, 16, f, 4});
      cases.push_back({"tiny T8 groups3 in96 out3x32", 8, 96, 96, 16, f, 3});
      cases.push_back({"tiny T70 groups4 in64 out4x32 (CPU per-group GEMM)", 70, 64, 128, exact(32, 24), f, 4});
    }
    if (options.real) {
      cases.push_back({"real T1 q_a 6144->2048", 1, 6144, 2048, exact(128, 48), f});
      cases.push_back({"real T64 o_proj 16384->6144", 64, 16384, 6144, exact(128, 48), f});
      cases.push_back({"real T1 w_uk 64 heads 192->512", 1, 192, 64 * 512, exact(128, 48), f, 64});
    }
  }
  // Grouped FP8 (W_UK^T / W_UV kept e4m3 + block scales, docs/artifacts.md): each group's rows a whole number of
  // blocks (the contract), its input width cropped by the block where the shape allows it.
  const ExpertWeightFormat fp8 = ExpertWeightFormat::kFloat8E4M3;
  if (options.tiny) {
    cases.push_back({"tiny T1 groups4 in40 out4x16 qb16 (cropped column block)", 1, 40, 64, 16, fp8, 4});
    cases.push_back({"tiny T5 groups3 in100 out3x24 qb24 (cropped, scalar tail)", 5, 100, 72, 24, fp8, 3});
    cases.push_back({"tiny T70 groups2 in72 out2x64 qb32 (cropped, CPU per-group GEMM)", 70, 72, 128, 32, fp8, 2});
  }
  if (options.real) {
    // GLM-5.2 re-blocked to 64 x 64 (the gcd of its 128 x 128 source blocks, qk_nope 192, v_head_dim 256, rank 512).
    cases.push_back({"real T1 w_uk^T 64 heads 192->512 qb64", 1, 192, 64 * 512, 64, fp8, 64});
    cases.push_back({"real T1 w_uv 64 heads 512->256 qb64", 1, 512, 64 * 256, 64, fp8, 64});
    cases.push_back({"real T64 w_uv 64 heads 512->256 qb64 (prefill)", 64, 512, 64 * 256, 64, fp8, 64});
    cases.push_back({"real T8 w_uv 64 heads 512->256 qb128", 8, 512, 64 * 256, 128, fp8, 64});
  }
  // The node's input activation and addend (cpu/dense_projection_node.h), alone and together, on the projection paths
  // above: decode (T1) and the CPU's GEMM path (T70), vector and scalar loads. With swiglu the width is the projected
  // one (the input is twice as wide); groups stay 1 (the contract allows swiglu only there).
  for (ExpertWeightFormat f :
       {ExpertWeightFormat::kBFloat16, ExpertWeightFormat::kInt8, ExpertWeightFormat::kFloat8E4M3}) {
    auto exact = [f](int64_t qb, int64_t int_qb) { return IsInteger(f) ? int_qb : qb; };
    if (options.tiny) {
      cases.push_back({"tiny T1 in136 out50", 1, 136, 50, exact(48, 24), f, 1, true, false});
      cases.push_back({"tiny T1 in64 out40", 1, 64, 40, 16, f, 1, false, true});
      cases.push_back({"tiny T1 in37 out19 qb8 (scalar path)", 1, 37, 19, 8, f, 1, true, true});
      cases.push_back({"tiny T70 in300 out40 (CPU GEMM)", 70, 300, 40, exact(128, 48), f, 1, true, false});
      cases.push_back({"tiny T70 in200 out70 (CPU GEMM)", 70, 200, 70, exact(64, 48), f, 1, false, true});
      cases.push_back({"tiny T70 in37 out19 qb8 (CPU GEMM, scalar path)", 70, 37, 19, 8, f, 1, true, true});
    }
    if (options.real && f != ExpertWeightFormat::kFloat8E4M3) {
      // A shared expert's down projection: SiLU(gate) * up of its 2048-wide intermediate, plus the routed sum.
      cases.push_back({"real T1 shared down 2048->6144", 1, 2048, 6144, exact(128, 48), f, 1, true, true});
      cases.push_back({"real T70 shared down 2048->6144", 70, 2048, 6144, exact(128, 48), f, 1, true, true});
    }
  }
  uint32_t seed = 7000;
  for (const DenseCase& c : cases) RunCase(c, options, report, seed += 17);
}

}  // namespace glm_ops::gpu
