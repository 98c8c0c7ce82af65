// DenseProjection parity: CUDA (or, in a dry run, the scalar reference of src/reference) against cpu::DenseProjection
// for float32, bf16 and block-FP8 weights, vector and scalar load paths (in a multiple of 8 or not), decode and
// prefill token counts (the CPU kernel's row-projection and blocked-GEMM paths), cropped FP8 edge blocks.
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "compare.h"
#include "cpu/dense_projection.h"
#include "cuda/cuda_check.h"
#include "cuda/dense_projection_cuda.h"
#include "device_buffer.h"
#include "host_types.h"
#include "parity_options.h"
#include "reference/dense_projection.h"

namespace glm_ops::gpu {

namespace {

struct DenseCase {
  std::string name;
  int64_t tokens, in, out, quant_block;
  ExpertWeightFormat format;
};

const char* FormatName(ExpertWeightFormat f) {
  return f == ExpertWeightFormat::kFloat32 ? "w=f32" : f == ExpertWeightFormat::kBFloat16 ? "w=bf16" : "w=fp8";
}

struct StoredWeight {
  std::vector<uint8_t> bytes;
  std::vector<float> scales;
};

StoredWeight MakeWeight(uint64_t seed, const DenseCase& c) {
  StoredWeight w;
  const size_t count = static_cast<size_t>(c.out * c.in);
  if (c.format == ExpertWeightFormat::kFloat8E4M3) {
    std::vector<float> u = FastUniform(seed, count, 0.f, 1.f);
    w.bytes.resize(count);
    for (size_t i = 0; i < count; ++i) {
      uint8_t b = static_cast<uint8_t>(u[i] * 255.99f);
      if ((b & 0x7F) == 0x7F) b ^= 0x01;  // no NaN weights
      w.bytes[i] = b;
    }
    const int64_t qb = c.quant_block;
    w.scales = FastUniform(seed + 7, static_cast<size_t>(((c.out + qb - 1) / qb) * ((c.in + qb - 1) / qb)), 0.5e-4f,
                           1.5e-4f);
    return w;
  }
  std::vector<float> values = FastUniform(seed, count, -0.05f, 0.05f);
  if (c.format == ExpertWeightFormat::kBFloat16) {
    const std::vector<uint16_t> bits = RoundToBf16(values);
    w.bytes.resize(count * 2);
    std::memcpy(w.bytes.data(), bits.data(), count * 2);
  } else {
    w.bytes.resize(count * 4);
    std::memcpy(w.bytes.data(), values.data(), count * 4);
  }
  return w;
}

void RunCase(const DenseCase& c, const ParityOptions& options, ParityReport& report, uint32_t seed) {
  const StoredWeight weight = MakeWeight(seed + 10, c);
  const std::vector<float> input = FastUniform(seed + 1, static_cast<size_t>(c.tokens * c.in), -1.f, 1.f);
  const bool fp8 = c.format == ExpertWeightFormat::kFloat8E4M3;
  DenseProjectionInputs in;
  in.input = {DType::kFloat32, {c.tokens, c.in}};
  in.weight = {fp8 ? DType::kFloat8E4M3FN : c.format == ExpertWeightFormat::kBFloat16 ? DType::kBFloat16
                                                                                    : DType::kFloat32,
               {c.out, c.in}};
  in.has_scales = fp8;
  if (fp8) {
    const int64_t qb = c.quant_block;
    in.scales = {DType::kFloat32, {(c.out + qb - 1) / qb, (c.in + qb - 1) / qb}};
  }
  DenseProjectionAttributes attributes;
  attributes.quant_block_size = c.quant_block;
  const DenseProjectionShape shape = ValidateDenseProjection(in, attributes);
  const DenseWeight host_w{weight.bytes.data(), fp8 ? weight.scales.data() : nullptr};

  std::vector<float> ref_out(static_cast<size_t>(c.tokens * c.out)), cand_out;
  auto start = std::chrono::steady_clock::now();
  cpu::DenseProjection(HostThreads(), shape, input.data(), host_w, ref_out.data());
  const double cpu_ms = MillisecondsSince(start);

  double cand_ms = 0;
  if (options.candidate == Candidate::kCuda) {
    DeviceBuffer dx = DeviceBuffer::From(input), dw = DeviceBuffer::From(weight.bytes);
    DeviceBuffer ds = DeviceBuffer::From(weight.scales);
    DeviceBuffer dy(ref_out.size() * sizeof(float));
    const DenseWeight device_w{dw.get(), fp8 ? ds.as<float>() : nullptr};
    GLM_CUDA_CHECK(cudaDeviceSynchronize());
    start = std::chrono::steady_clock::now();
    cuda::DenseProjection(shape, dx.as<float>(), device_w, dy.as<float>(), nullptr);
    GLM_CUDA_CHECK(cudaDeviceSynchronize());
    cand_ms = MillisecondsSince(start);
    cand_out = dy.Download<float>();
  } else {
    start = std::chrono::steady_clock::now();
    cand_out = ToFloats(reference::DenseProjection(shape, input.data(), host_w));
    cand_ms = MillisecondsSince(start);
  }

  const FloatError err = CompareFloats(cand_out, ref_out);
  ParityRow row;
  row.op = "DenseProjection";
  row.name = c.name + " " + FormatName(c.format);
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
  for (ExpertWeightFormat f :
       {ExpertWeightFormat::kFloat32, ExpertWeightFormat::kBFloat16, ExpertWeightFormat::kFloat8E4M3}) {
    if (options.tiny) {
      cases.push_back({"tiny T1 in64 out40", 1, 64, 40, 16, f});
      cases.push_back({"tiny T8 in136 out50 (vector, cropped blocks)", 8, 136, 50, 32, f});
      cases.push_back({"tiny T3 in37 out19 qb8 (scalar path)", 3, 37, 19, 8, f});
      cases.push_back({"tiny T33 in200 out70 (GEMM, token tiles)", 33, 200, 70, 64, f});
    }
    if (options.real) {
      cases.push_back({"real T1 q_a 6144->2048", 1, 6144, 2048, 128, f});
      cases.push_back({"real T64 o_proj 16384->6144", 64, 16384, 6144, 128, f});
    }
  }
  uint32_t seed = 7000;
  for (const DenseCase& c : cases) RunCase(c, options, report, seed += 17);
}

}  // namespace glm_ops::gpu
