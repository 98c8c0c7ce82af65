// SparseMlaAttention parity: CUDA (or, in a dry run, the scalar reference of src/reference) against
// cpu::SparseMlaAttention, with and without a top-k selection (including -1 padding and future positions that must
// be ignored), and with rope tables (q_rope and k_rope unrotated, the op rotates them).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "compare.h"
#include "cpu/sparse_mla_attention.h"
#include "cuda/sparse_mla_attention_cuda.h"
#include "device_buffer.h"
#include "host_types.h"
#include "reference/sparse_mla_attention.h"
#include "paged_inputs.h"
#include "parity_options.h"
#include "rope_inputs.h"

namespace glm_ops::gpu {

namespace {

struct MlaCase {
  std::string name;
  int64_t heads, rank, rope, block_size;
  int64_t topk;  // 0 = attend to all causal positions
  std::vector<int64_t> past, fresh;
  bool rotate = false;  // rope tables given: q_rope and k_rope arrive unrotated
};

// Per token: topk entries, mostly distinct causal positions, some future positions of the same sequence and some -1.
std::vector<int32_t> MakeSelection(std::mt19937& rng, const PagedInputs& layout, int64_t topk) {
  std::vector<int32_t> sel(static_cast<size_t>(layout.tokens * topk), -1);
  for (int64_t b = 0; b < layout.Sequences(); ++b) {
    const int64_t length = layout.past[b] + layout.cu[b + 1] - layout.cu[b];
    for (int64_t t = layout.cu[b]; t < layout.cu[b + 1]; ++t) {
      const int64_t pos = layout.past[b] + t - layout.cu[b];
      std::vector<int32_t> all(static_cast<size_t>(length));
      for (int64_t p = 0; p < length; ++p) all[p] = static_cast<int32_t>(p);
      std::shuffle(all.begin(), all.end(), rng);
      int64_t filled = 0;
      for (int32_t p : all) {
        if (filled == topk) break;
        if (p > pos && rng() % 4 != 0) continue;  // keep a few future positions: the kernel must skip them
        sel[t * topk + filled++] = p;
      }
    }
  }
  return sel;
}

void RunCase(const MlaCase& c, cuda::Activation type, const ParityOptions& options, ParityReport& report,
             uint32_t seed) {
  std::mt19937 rng(seed);
  const PagedInputs layout = MakePagedInputs(rng, c.past, c.fresh, c.block_size);
  const int64_t T = layout.tokens, H = c.heads, R = c.rank, P = c.rope, W = R + P;
  std::vector<float> ql = FastUniform(seed + 1, T * H * R, -1.f, 1.f);
  std::vector<float> qr = FastUniform(seed + 2, T * H * P, -1.f, 1.f);
  std::vector<float> kv = FastUniform(seed + 3, T * R, -1.f, 1.f);
  std::vector<float> kr = FastUniform(seed + 4, T * P, -1.f, 1.f);
  std::vector<float> pool = FastUniform(seed + 5, layout.num_blocks * layout.block_size * W, -1.f, 1.f);
  const std::vector<int32_t> selection = c.topk ? MakeSelection(rng, layout, c.topk) : std::vector<int32_t>{};
  const bool bf16 = type == cuda::Activation::kBFloat16;
  std::vector<uint16_t> ql16, qr16, kv16, kr16, pool16;
  if (bf16) {
    ql16 = RoundToBf16(ql);
    qr16 = RoundToBf16(qr);
    kv16 = RoundToBf16(kv);
    kr16 = RoundToBf16(kr);
    pool16 = RoundToBf16(pool);
  }

  SparseMlaInputs in;
  in.q_latent = {DType::kFloat32, {T, H, R}};
  in.q_rope = {DType::kFloat32, {T, H, P}};
  in.kv_latent = {DType::kFloat32, {T, R}};
  in.k_rope = {DType::kFloat32, {T, P}};
  in.latent_pool = {DType::kFloat32, {layout.num_blocks, layout.block_size, W}};
  in.batch = layout.Inputs();
  in.has_topk = c.topk > 0;
  if (in.has_topk) in.topk_indices = {DType::kInt32, {T, c.topk}};
  const RopeInputs tables = RandomRopeTables(seed + 6, T, c.rotate ? P / 2 : 0);
  in.rope = tables.Inputs();
  SparseMlaAttributes attributes;
  attributes.softmax_scale = 1.0f / std::sqrt(static_cast<float>(R > 256 ? 256 : R + P));
  const SparseMlaShape shape = ValidateSparseMla(in, attributes);
  const int32_t* sel = c.topk ? selection.data() : nullptr;

  // float32: the CPU op gets the same unrotated inputs and tables. bf16: the CUDA op rounds its rotated copies to
  // bf16, so the CPU op gets those values (rotated on the host, rounded) and no tables.
  const bool host_rotated = c.rotate && bf16;
  SparseMlaShape cpu_shape = shape;
  cpu_shape.rotate = shape.rotate && !host_rotated;
  const RopeTables cpu_tables = host_rotated ? RopeTables{} : tables.Host();
  const std::vector<float> qr_cpu = host_rotated ? RotatedBf16(qr, T, H, P, P, tables.Host()) : qr;
  const std::vector<float> kr_cpu = host_rotated ? RotatedBf16(kr, T, 1, P, P, tables.Host()) : kr;

  std::vector<float> ref_pool = pool, ref_out(static_cast<size_t>(T * H * R));
  auto start = std::chrono::steady_clock::now();
  cpu::SparseMlaAttention(HostThreads(), cpu_shape, ql.data(), qr_cpu.data(), kv.data(), kr_cpu.data(), cpu_tables,
                          ref_pool.data(), sel, ref_out.data());
  const double cpu_ms = MillisecondsSince(start);

  std::vector<float> cand_pool, cand_out(ref_out.size());
  double cand_ms = 0;
  if (options.candidate == Candidate::kCuda) {
    DeviceBuffer dql = bf16 ? DeviceBuffer::From(ql16) : DeviceBuffer::From(ql);
    DeviceBuffer dqr = bf16 ? DeviceBuffer::From(qr16) : DeviceBuffer::From(qr);
    DeviceBuffer dkv = bf16 ? DeviceBuffer::From(kv16) : DeviceBuffer::From(kv);
    DeviceBuffer dkr = bf16 ? DeviceBuffer::From(kr16) : DeviceBuffer::From(kr);
    DeviceBuffer dpool = bf16 ? DeviceBuffer::From(pool16) : DeviceBuffer::From(pool);
    DeviceBuffer dsel = DeviceBuffer::From(selection);
    DeviceBuffer dcos = DeviceBuffer::From(tables.cos), dsin = DeviceBuffer::From(tables.sin);
    const RopeTables dtables = c.rotate ? RopeTables{dcos.as<float>(), dsin.as<float>()} : RopeTables{};
    DeviceBuffer dout(ref_out.size() * (bf16 ? 2 : 4));
    DeviceBuffer workspace(cuda::SparseMlaAttentionWorkspaceBytes(shape));
    GLM_CUDA_CHECK(cudaDeviceSynchronize());
    start = std::chrono::steady_clock::now();
    cuda::SparseMlaAttention(shape, type, dql.get(), dqr.get(), dkv.get(), dkr.get(), dtables, dpool.get(),
                             c.topk ? dsel.as<int32_t>() : nullptr, dout.get(), workspace.get(), workspace.bytes(),
                             nullptr);
    GLM_CUDA_CHECK(cudaDeviceSynchronize());
    cand_ms = MillisecondsSince(start);
    cand_out = bf16 ? Bf16ToFloat(dout.Download<uint16_t>()) : dout.Download<float>();
    cand_pool = bf16 ? Bf16ToFloat(dpool.Download<uint16_t>()) : dpool.Download<float>();
  } else {
    cand_pool = pool;
    start = std::chrono::steady_clock::now();
    // The reference stands in with the CPU op's inputs (in float32: unrotated, with the tables).
    cand_out = ToFloats(reference::SparseMlaAttention(cpu_shape, ql.data(), qr_cpu.data(), kv.data(), kr_cpu.data(),
                                                      cpu_tables, cand_pool.data(), sel));
    cand_ms = MillisecondsSince(start);
    if (bf16)
      for (float& v : cand_out) v = FromBf16(ToBf16(v));
  }

  const FloatError err = CompareFloats(cand_out, ref_out);
  ParityRow row;
  row.op = "SparseMlaAttention";
  row.name = c.name;
  row.dtype = DtypeLabel(type);
  row.tokens = T;
  row.max_abs = err.max_abs;
  row.max_rel = err.max_rel;
  // float32: accumulation order only; bf16: the output is rounded to bf16 (8 significant bits).
  row.tolerance = (bf16 ? 8e-3 : 5e-5) * err.ref_max + 1e-9;  // relative to the largest output
  const FloatError pool_err = CompareFloats(cand_pool, ref_pool);
  row.pool_max_abs = pool_err.max_abs;
  const double pool_tolerance = c.rotate ? RopePoolTolerance(bf16, pool_err.ref_max) : 0.0;
  row.cpu_ms = cpu_ms;
  row.candidate_ms = cand_ms;
  row.pass = err.non_finite == 0 && pool_err.non_finite == 0 && err.max_abs <= row.tolerance &&
             row.pool_max_abs <= pool_tolerance;
  if (c.rotate) row.note = host_rotated ? "rope (CPU: host-rotated bf16)" : "rope";
  report.Add(row);
}

}  // namespace

void RunSparseMlaParity(const ParityOptions& options, ParityReport& report) {
  std::vector<MlaCase> cases;
  if (options.tiny) {
    cases.push_back({"tiny dense prefill bs1", 4, 16, 8, 1, 0, {0, 3}, {7, 2}});
    cases.push_back({"tiny selected decode bs5", 4, 32, 8, 5, 8, {20, 3, 40}, {1, 1, 1}});
    cases.push_back({"tiny odd widths 18+6", 3, 18, 6, 4, 0, {9}, {5}});
    cases.push_back({"tiny 40 heads selected", 40, 16, 8, 16, 12, {30, 0}, {2, 6}});
    cases.push_back({"tiny rope dense prefill bs1", 4, 16, 8, 1, 0, {0, 3}, {7, 2}, true});
    cases.push_back({"tiny rope selected decode bs5", 4, 32, 8, 5, 8, {20, 3, 40}, {1, 1, 1}, true});
    cases.push_back({"tiny rope odd widths 18+6", 3, 18, 6, 4, 0, {9}, {5}, true});
    cases.push_back({"tiny rope 40 heads selected", 40, 16, 8, 16, 12, {30, 0}, {2, 6}, true});
  }
  if (options.real) {
    cases.push_back({"real decode B1 ctx 4K top2048 bs64", 64, 512, 64, 64, 2048, {4095}, {1}});
    cases.push_back({"real decode B8 ctx 1K-9K top2048", 64, 512, 64, 64, 2048,
                     {1000, 2047, 2048, 5000, 9000, 300, 4096, 7000}, {1, 1, 1, 1, 1, 1, 1, 1}});
    cases.push_back({"real decode B2 dense ctx 1500 bs16", 64, 512, 64, 16, 0, {1499, 700}, {1, 1}});
    cases.push_back({"real prefill 128 dense bs64", 64, 512, 64, 64, 0, {0}, {128}});
    cases.push_back({"real prefill chunk 32 @3K top2048", 64, 512, 64, 128, 2048, {3000}, {32}});
    cases.push_back({"real rope decode B8 ctx 1K-9K top2048", 64, 512, 64, 64, 2048,
                     {1000, 2047, 2048, 5000, 9000, 300, 4096, 7000}, {1, 1, 1, 1, 1, 1, 1, 1}, true});
    cases.push_back({"real rope prefill chunk 32 @3K top2048", 64, 512, 64, 128, 2048, {3000}, {32}, true});
  }
  if (options.huge) {
    cases.push_back({"real decode B32 ctx 32K top2048", 64, 512, 64, 64, 2048, std::vector<int64_t>(32, 32767),
                     std::vector<int64_t>(32, 1)});
  }
  uint32_t seed = 2000;
  for (const MlaCase& c : cases)
    for (cuda::Activation type : {cuda::Activation::kFloat32, cuda::Activation::kBFloat16})
      RunCase(c, type, options, report, ++seed);
}

}  // namespace glm_ops::gpu
