// LightningIndexer parity: CUDA (or, in a dry run, the scalar reference of src/reference) against
// cpu::LightningIndexer on the same random paged inputs; reports the overlap of the selected sets and checks the
// in-place key writes; also with rope tables (q and k unrotated, the op rotates their first rotary_dim dims).
#include <string>
#include <vector>

#include "compare.h"
#include "cpu/lightning_indexer.h"
#include "cuda/lightning_indexer_cuda.h"
#include "device_buffer.h"
#include "host_types.h"
#include "reference/lightning_indexer.h"
#include "paged_inputs.h"
#include "parity_options.h"
#include "rope_inputs.h"

namespace glm_ops::gpu {

namespace {

struct IndexerCase {
  std::string name;
  int64_t heads, dim, topk, block_size;
  std::vector<int64_t> past, fresh;
  int64_t rotary_dim = 0;  // > 0: rope tables given, q and k arrive unrotated
  bool flat_q = false;     // index_q as [T, H * D] (a projection's output), the same memory as [T, H, D]
};

void RunCase(const IndexerCase& c, cuda::Activation type, const ParityOptions& options, ParityReport& report,
             uint32_t seed) {
  std::mt19937 rng(seed);
  const PagedInputs layout = MakePagedInputs(rng, c.past, c.fresh, c.block_size);
  const int64_t T = layout.tokens, H = c.heads, D = c.dim, K = c.topk;
  std::vector<float> q = FastUniform(seed + 1, T * H * D, -1.f, 1.f);
  std::vector<float> k = FastUniform(seed + 2, T * D, -1.f, 1.f);
  std::vector<float> w = FastUniform(seed + 3, T * H, -0.5f, 1.f);
  std::vector<float> pool = FastUniform(seed + 4, layout.num_blocks * layout.block_size * D, -1.f, 1.f);
  const bool bf16 = type == cuda::Activation::kBFloat16;
  std::vector<uint16_t> q16, k16, w16, pool16;
  if (bf16) {
    q16 = RoundToBf16(q);
    k16 = RoundToBf16(k);
    w16 = RoundToBf16(w);
    pool16 = RoundToBf16(pool);
  }

  LightningIndexerInputs in;
  in.index_q = c.flat_q ? TensorDesc{DType::kFloat32, {T, H * D}} : TensorDesc{DType::kFloat32, {T, H, D}};
  in.index_k = {DType::kFloat32, {T, D}};
  in.head_weights = {DType::kFloat32, {T, H}};
  in.index_pool = {DType::kFloat32, {layout.num_blocks, layout.block_size, D}};
  in.batch = layout.Inputs();
  const RopeInputs tables = RandomRopeTables(seed + 5, T, c.rotary_dim / 2);
  in.rope = tables.Inputs();
  LightningIndexerAttributes attributes;
  attributes.index_topk = K;
  const LightningIndexerShape shape = ValidateLightningIndexer(in, attributes);

  // float32: the CPU op gets the same unrotated inputs and tables. bf16: the CUDA op rounds its rotated copies to
  // bf16, so the CPU op gets those values (rotated on the host, rounded) and no tables.
  const bool rope = c.rotary_dim > 0, host_rotated = rope && bf16;
  LightningIndexerShape cpu_shape = shape;
  if (host_rotated) cpu_shape.rotary_dim = 0;
  const RopeTables cpu_tables = host_rotated ? RopeTables{} : tables.Host();
  const std::vector<float> q_cpu = host_rotated ? RotatedBf16(q, T, H, D, c.rotary_dim, tables.Host()) : q;
  const std::vector<float> k_cpu = host_rotated ? RotatedBf16(k, T, 1, D, c.rotary_dim, tables.Host()) : k;

  std::vector<float> ref_pool = pool;
  std::vector<int32_t> ref_out(static_cast<size_t>(T * K));
  auto start = std::chrono::steady_clock::now();
  cpu::LightningIndexer(HostThreads(), cpu_shape, q_cpu.data(), k_cpu.data(), w.data(), cpu_tables, ref_pool.data(),
                        ref_out.data());
  const double cpu_ms = MillisecondsSince(start);

  std::vector<float> cand_pool;
  std::vector<int32_t> cand_out(static_cast<size_t>(T * K));
  double cand_ms = 0;
  if (options.candidate == Candidate::kCuda) {
    DeviceBuffer dq = bf16 ? DeviceBuffer::From(q16) : DeviceBuffer::From(q);
    DeviceBuffer dk = bf16 ? DeviceBuffer::From(k16) : DeviceBuffer::From(k);
    DeviceBuffer dw = bf16 ? DeviceBuffer::From(w16) : DeviceBuffer::From(w);
    DeviceBuffer dpool = bf16 ? DeviceBuffer::From(pool16) : DeviceBuffer::From(pool);
    DeviceBuffer dout(cand_out.size() * sizeof(int32_t));
    DeviceBuffer dcos = DeviceBuffer::From(tables.cos), dsin = DeviceBuffer::From(tables.sin);
    const RopeTables dtables = rope ? RopeTables{dcos.as<float>(), dsin.as<float>()} : RopeTables{};
    DeviceBuffer workspace(cuda::LightningIndexerWorkspaceBytes(shape));
    GLM_CUDA_CHECK(cudaDeviceSynchronize());
    start = std::chrono::steady_clock::now();
    cuda::LightningIndexer(shape, type, dq.get(), dk.get(), dw.get(), dtables, dpool.get(), dout.as<int32_t>(),
                           workspace.get(), workspace.bytes(), nullptr);
    GLM_CUDA_CHECK(cudaDeviceSynchronize());
    cand_ms = MillisecondsSince(start);
    cand_out = dout.Download<int32_t>();
    cand_pool = bf16 ? Bf16ToFloat(dpool.Download<uint16_t>()) : dpool.Download<float>();
  } else {
    cand_pool = pool;
    start = std::chrono::steady_clock::now();
    // The reference stands in with the CPU op's inputs (in float32: unrotated, with the tables).
    reference::LightningIndexer(cpu_shape, q_cpu.data(), k_cpu.data(), w.data(), cpu_tables, cand_pool.data(),
                                cand_out.data());
    cand_ms = MillisecondsSince(start);
  }

  const Overlap overlap = CompareSelections(cand_out, ref_out, T, K);
  ParityRow row;
  row.op = "LightningIndexer";
  row.name = c.name;
  row.dtype = DtypeLabel(type);
  row.tokens = T;
  row.overlap_min = overlap.min;
  row.overlap_mean = overlap.mean;
  const FloatError pool_err = CompareFloats(cand_pool, ref_pool);
  row.pool_max_abs = pool_err.max_abs;
  const double pool_tolerance = rope ? RopePoolTolerance(bf16, pool_err.ref_max) : 0.0;
  row.cpu_ms = cpu_ms;
  row.candidate_ms = cand_ms;
  // Scores agree to float rounding, so only near-ties at the k-th score may swap members.
  row.pass = overlap.size_mismatch == 0 && overlap.min >= 0.99 && overlap.mean >= 0.999 &&
             pool_err.non_finite == 0 && row.pool_max_abs <= pool_tolerance;
  row.note = "exact_rows=" + std::to_string(overlap.exact_rows);
  if (rope) row.note += host_rotated ? " rope (CPU: host-rotated bf16)" : " rope";
  report.Add(row);
}

}  // namespace

void RunIndexerParity(const ParityOptions& options, ParityReport& report) {
  std::vector<IndexerCase> cases;
  if (options.tiny) {
    cases.push_back({"tiny decode mixed bs1", 4, 16, 8, 1, {5, 20, 7, 0}, {1, 1, 1, 1}});
    cases.push_back({"tiny decode bs3", 32, 16, 8, 3, {30, 2, 9}, {1, 1, 1}});
    cases.push_back({"tiny prefill+decode bs16", 32, 24, 8, 16, {0, 40, 3}, {12, 1, 9}});
    cases.push_back({"tiny odd dim 13 heads 5", 5, 13, 6, 4, {17, 0}, {3, 11}});
    cases.push_back({"tiny 40 heads", 40, 16, 8, 8, {50}, {2}});
    cases.push_back({"tiny rope all dims 16 bs3", 32, 16, 8, 3, {30, 2, 9}, {1, 1, 1}, 16});
    cases.push_back({"tiny rope 8 of 24 prefill+decode", 32, 24, 8, 16, {0, 40, 3}, {12, 1, 9}, 8, true});
    cases.push_back({"tiny rope 6 of odd dim 13", 5, 13, 6, 4, {17, 0}, {3, 11}, 6});
    cases.push_back({"tiny rope 2 of 16, 40 heads, 2-D q", 40, 16, 8, 8, {50}, {2}, 2, true});
  }
  if (options.real) {
    cases.push_back({"real decode ctx 1000 (<topk)", 32, 128, 2048, 64, {999}, {1}});
    cases.push_back({"real decode ctx 2048/2049 edge", 32, 128, 2048, 64, {2047, 2048}, {1, 1}});
    cases.push_back({"real decode B4 ctx 3K-9K bs64", 32, 128, 2048, 64, {3000, 9000, 4095, 100}, {1, 1, 1, 1}});
    cases.push_back({"real decode B2 ctx 16K bs128", 32, 128, 2048, 128, {16383, 12000}, {1, 1}});
    cases.push_back({"real prefill chunk 64 @4K bs64", 32, 128, 2048, 64, {4000}, {64}});
    cases.push_back({"real mixed prefill+decode bs16", 32, 128, 2048, 16, {0, 5000, 2100}, {300, 1, 1}});
    // GLM-5.2's indexer rotates the first 64 (qk_rope_head_dim) of its 128 dims (docs/architecture.md); a 2-D q is
    // the projection's output as the graph may pass it.
    cases.push_back({"real rope 64/128 decode B4 ctx 3K-9K", 32, 128, 2048, 64, {3000, 9000, 4095, 100},
                     {1, 1, 1, 1}, 64, true});
    cases.push_back({"real rope 64/128 mixed prefill+decode", 32, 128, 2048, 16, {0, 5000, 2100}, {300, 1, 1}, 64});
  }
  if (options.huge) {
    cases.push_back({"real decode ctx 128K bs64", 32, 128, 2048, 64, {131071}, {1}});
    cases.push_back({"real decode ctx 1M bs64", 32, 128, 2048, 64, {1048575}, {1}});
  }
  uint32_t seed = 1000;
  for (const IndexerCase& c : cases)
    for (cuda::Activation type : {cuda::Activation::kFloat32, cuda::Activation::kBFloat16})
      RunCase(c, type, options, report, ++seed);
}

}  // namespace glm_ops::gpu
