// Decode benchmark of LightningIndexer and SparseMlaAttention at GLM-5.2 widths: one new token per sequence,
// contexts 4K / 32K / 128K, batch 1 and 8. Prints median time per call, bytes read per second and GFLOP/s, and
// their ratios to the plain read bandwidth and FMA peak this program measures first (wall and per CPU second).
//   bench_attention [max_context] [repeats]
// `prefill` instead times SparseMlaAttention over a whole prompt (one sequence, every causal position attended, as
// top-k >= prompt selects): small (16 heads, 256 + 64) at 512 tokens, GLM-5.2 (64 heads, 512 + 64) at 512 and 2048,
// the AVX2 and AVX-512 kernels in alternating calls (cpu/isa_dispatch.h).
//   bench_attention prefill [repeats]
// `small` times both ops at the small preset's widths (indexer 32 heads x 64, top-k 256; MLA 16 heads, 256 + 64) on
// one sequence: a 512-token prompt (no past), and one decode token at contexts 512 and 4096, the AVX2 and AVX-512
// kernels in alternating calls.
//   bench_attention small [repeats]
// The ops' loops run on a pool that outlives the calls (bench_pool.h), as in a session; threads: GLM_OPS_THREADS.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bench_pool.h"
#include "bench_util.h"
#include "cpu/isa_dispatch.h"
#include "cpu/lightning_indexer.h"
#include "cpu/sparse_mla_attention.h"

namespace glm_ops::bench {
namespace {

// The ops' loops: a pool that outlives the calls, as ONNX Runtime's is in a session (bench_pool.h), so a decode
// call's tens of microseconds are not a thread start per loop.
const cpu::Parallel& Pool() {
  static const PooledThreads pool(Threads().Threads());
  return pool;
}

constexpr int64_t kIndexHeads = 32, kIndexDim = 128, kTopK = 2048;
constexpr int64_t kHeads = 64, kRank = 512, kRope = 64, kBlock = 64;

struct Batch {
  std::vector<int32_t> cu, past, table;
  int64_t max_blocks = 0, num_blocks = 0;
};

// `batch` sequences each holding `context - 1` cached tokens plus one new token; blocks laid out sequence-major.
Batch MakeBatch(int64_t batch, int64_t context) {
  Batch b;
  b.max_blocks = (context + kBlock - 1) / kBlock;
  b.num_blocks = batch * b.max_blocks;
  for (int64_t s = 0; s <= batch; ++s) b.cu.push_back(static_cast<int32_t>(s));
  for (int64_t s = 0; s < batch; ++s) b.past.push_back(static_cast<int32_t>(context - 1));
  for (int64_t i = 0; i < b.num_blocks; ++i) b.table.push_back(static_cast<int32_t>(i));
  return b;
}

PagedBatchInputs Inputs(const Batch& b, int64_t batch) {
  return {{DType::kInt32, {batch + 1}}, b.cu.data(), {DType::kInt32, {batch}}, b.past.data(),
          {DType::kInt32, {batch, b.max_blocks}}, b.table.data()};
}

// SparseMlaAttention's query / new-row operands for `rows` rows (filled with fixed seeds) and their descriptors; the
// caller adds the batch layout and top-k.
struct MlaOperands {
  std::vector<float> ql, qr, kv, kr, out;
  SparseMlaInputs inputs;
};

MlaOperands MakeMlaOperands(int64_t rows, int64_t heads, int64_t rank, int64_t rope, int64_t pool_blocks) {
  MlaOperands m;
  m.ql.resize(static_cast<size_t>(rows * heads * rank));
  m.qr.resize(static_cast<size_t>(rows * heads * rope));
  m.kv.resize(static_cast<size_t>(rows * rank));
  m.kr.resize(static_cast<size_t>(rows * rope));
  m.out.resize(m.ql.size());
  FillUniform(m.ql.data(), static_cast<int64_t>(m.ql.size()), 6);
  FillUniform(m.qr.data(), static_cast<int64_t>(m.qr.size()), 7);
  FillUniform(m.kv.data(), static_cast<int64_t>(m.kv.size()), 8);
  FillUniform(m.kr.data(), static_cast<int64_t>(m.kr.size()), 9);
  m.inputs.q_latent = {DType::kFloat32, {rows, heads, rank}};
  m.inputs.q_rope = {DType::kFloat32, {rows, heads, rope}};
  m.inputs.kv_latent = {DType::kFloat32, {rows, rank}};
  m.inputs.k_rope = {DType::kFloat32, {rows, rope}};
  m.inputs.latent_pool = {DType::kFloat32, {pool_blocks, kBlock, rank + rope}};
  return m;
}

// LightningIndexer's operands for `rows` new rows (queries, keys, head weights and the key pool of `pool_blocks`
// blocks, filled with fixed seeds) and their descriptors; the caller adds the batch layout.
struct IndexerOperands {
  std::vector<float> q, k, w, pool;
  LightningIndexerInputs inputs;
};

IndexerOperands MakeIndexerOperands(int64_t rows, int64_t heads, int64_t dim, int64_t pool_blocks) {
  IndexerOperands o;
  o.pool.resize(static_cast<size_t>(pool_blocks * kBlock * dim));
  o.q.resize(static_cast<size_t>(rows * heads * dim));
  o.k.resize(static_cast<size_t>(rows * dim));
  o.w.resize(static_cast<size_t>(rows * heads));
  FillUniform(o.pool.data(), static_cast<int64_t>(o.pool.size()), 1);
  FillUniform(o.q.data(), static_cast<int64_t>(o.q.size()), 3);
  FillUniform(o.k.data(), static_cast<int64_t>(o.k.size()), 4);
  FillUniform(o.w.data(), static_cast<int64_t>(o.w.size()), 5);
  o.inputs.index_q = {DType::kFloat32, {rows, heads, dim}};
  o.inputs.index_k = {DType::kFloat32, {rows, dim}};
  o.inputs.head_weights = {DType::kFloat32, {rows, heads}};
  o.inputs.index_pool = {DType::kFloat32, {pool_blocks, kBlock, dim}};
  return o;
}

void Run(int64_t batch, int64_t context, int repeats, Rate read, Rate peak) {
  const Batch b = MakeBatch(batch, context);
  std::vector<float> latent_pool(static_cast<size_t>(b.num_blocks * kBlock * (kRank + kRope)));
  FillUniform(latent_pool.data(), static_cast<int64_t>(latent_pool.size()), 2);
  IndexerOperands ix = MakeIndexerOperands(batch, kIndexHeads, kIndexDim, b.num_blocks);
  ix.inputs.batch = Inputs(b, batch);
  const LightningIndexerShape ishape = ValidateLightningIndexer(ix.inputs, {kTopK, std::nullopt});
  std::vector<int32_t> topk(static_cast<size_t>(batch * kTopK));
  const Timing index_t = Measure(repeats, [&] {
    cpu::LightningIndexer(Pool(), ishape, ix.q.data(), ix.k.data(), ix.w.data(), RopeTables{}, ix.pool.data(), topk.data());
  });
  const double index_bytes = static_cast<double>(batch * context * kIndexDim * 4);
  const double index_flops = 2.0 * batch * context * kIndexHeads * kIndexDim;

  MlaOperands m = MakeMlaOperands(batch, kHeads, kRank, kRope, b.num_blocks);
  SparseMlaInputs& mi = m.inputs;
  mi.batch = Inputs(b, batch);
  mi.has_topk = true;
  mi.topk_indices = {DType::kInt32, {batch, kTopK}};
  const SparseMlaShape mshape = ValidateSparseMla(mi, {1.0f / 16.0f});
  const Timing mla_t = Measure(repeats, [&] {
    cpu::SparseMlaAttention(Pool(), mshape, m.ql.data(), m.qr.data(), m.kv.data(), m.kr.data(),
                            RopeTables{}, latent_pool.data(), topk.data(), m.out.data());
  });
  const int64_t attended = std::min(context, kTopK);
  const double mla_bytes = static_cast<double>(batch * attended * (kRank + kRope) * 4);
  const double mla_flops = 2.0 * batch * attended * kHeads * (kRank + kRope + kRank);

  const Rate index_bw = RateOf(index_bytes, index_t), index_fl = RateOf(index_flops, index_t);
  const Rate mla_bw = RateOf(mla_bytes, mla_t), mla_fl = RateOf(mla_flops, mla_t);
  std::printf("%-7lld %-5lld | indexer %8.2f ms (cpu %8.2f) %6.2f GB/s %4.2fx rd, %5.1f GFLOP/cpu-s %4.2fx pk | "
              "MLA %7.2f ms (cpu %7.2f) %6.2f GB/s %4.2fx rd, %5.1f GFLOP/cpu-s %4.2fx pk\n",
              static_cast<long long>(context), static_cast<long long>(batch), index_t.wall * 1e3, index_t.cpu * 1e3,
              index_bw.wall / 1e9, index_bw.wall / read.wall, index_fl.cpu / 1e9, index_fl.cpu / peak.cpu,
              mla_t.wall * 1e3, mla_t.cpu * 1e3, mla_bw.wall / 1e9, mla_bw.wall / read.wall, mla_fl.cpu / 1e9,
              mla_fl.cpu / peak.cpu);
  std::fflush(stdout);
}

// One sequence of `tokens` new tokens (no past) at the given head count and widths, median per ISA.
void RunPrefill(const char* name, int64_t heads, int64_t rank, int64_t rope, int64_t tokens, int repeats) {
  const Batch b = MakeBatch(1, tokens);
  Batch prompt = b;
  prompt.cu = {0, static_cast<int32_t>(tokens)};
  prompt.past = {0};
  std::vector<float> pool(static_cast<size_t>(prompt.num_blocks * kBlock * (rank + rope)));
  MlaOperands m = MakeMlaOperands(tokens, heads, rank, rope, prompt.num_blocks);
  SparseMlaInputs& mi = m.inputs;
  mi.batch = {{DType::kInt32, {2}}, prompt.cu.data(), {DType::kInt32, {1}}, prompt.past.data(),
              {DType::kInt32, {1, prompt.max_blocks}}, prompt.table.data()};
  const SparseMlaShape shape = ValidateSparseMla(mi, {1.0f / std::sqrt(static_cast<float>(rank + rope))});
  std::vector<cpu::Isa> isas{cpu::Isa::kAvx2};
  if (cpu::CpuHasAvx512Kernels()) isas.push_back(cpu::Isa::kAvx512);
  const std::vector<Timing> t = MeasureAlternating(repeats, isas.size(), [&](size_t i) {
    cpu::ForceIsa(isas[i]);
    cpu::SparseMlaAttention(Pool(), shape, m.ql.data(), m.qr.data(), m.kv.data(), m.kr.data(), RopeTables{},
                            pool.data(), nullptr, m.out.data());
  });
  const double flops = 2.0 * (tokens * (tokens + 1) / 2) * heads * (rank + rope + rank);
  for (size_t i = 0; i < isas.size(); ++i)
    std::printf("%-6s %2lld heads %3lld+%-2lld %5lld tokens | %-6s %9.2f ms (cpu %9.2f) %6.1f GFLOP/cpu-s\n", name,
                static_cast<long long>(heads), static_cast<long long>(rank), static_cast<long long>(rope),
                static_cast<long long>(tokens), cpu::IsaName(isas[i]), t[i].wall * 1e3, t[i].cpu * 1e3,
                flops / t[i].cpu / 1e9);
  std::fflush(stdout);
}

// The small preset's indexer and sparse MLA on one sequence of `past` cached and `fresh` new tokens: the indexer
// selects top-k 256 per new token, MLA attends to the selection; medians per op and ISA, calls alternating.
void RunSmall(const char* phase, int64_t past, int64_t fresh, int repeats) {
  constexpr int64_t ih = 32, id = 64, topk = 256, heads = 16, rank = 256, rope = 64;
  Batch b = MakeBatch(1, past + fresh);
  b.cu = {0, static_cast<int32_t>(fresh)};
  b.past = {static_cast<int32_t>(past)};
  const PagedBatchInputs batch{{DType::kInt32, {2}}, b.cu.data(), {DType::kInt32, {1}}, b.past.data(),
                               {DType::kInt32, {1, b.max_blocks}}, b.table.data()};
  std::vector<float> latent_pool(static_cast<size_t>(b.num_blocks * kBlock * (rank + rope)));
  FillUniform(latent_pool.data(), static_cast<int64_t>(latent_pool.size()), 2);
  IndexerOperands ix = MakeIndexerOperands(fresh, ih, id, b.num_blocks);
  ix.inputs.batch = batch;
  const LightningIndexerShape ishape = ValidateLightningIndexer(ix.inputs, {topk, std::nullopt});
  std::vector<int32_t> selected(static_cast<size_t>(fresh * topk));

  MlaOperands m = MakeMlaOperands(fresh, heads, rank, rope, b.num_blocks);
  m.inputs.batch = batch;
  m.inputs.has_topk = true;
  m.inputs.topk_indices = {DType::kInt32, {fresh, topk}};
  const SparseMlaShape mshape = ValidateSparseMla(m.inputs, {1.0f / std::sqrt(static_cast<float>(rank + rope))});

  std::vector<cpu::Isa> isas{cpu::Isa::kAvx2};
  if (cpu::CpuHasAvx512Kernels()) isas.push_back(cpu::Isa::kAvx512);
  // Variant 2i: the indexer at isas[i]; 2i + 1: MLA at isas[i] (on the selection of the indexer call before it).
  const std::vector<Timing> t = MeasureAlternating(repeats, 2 * isas.size(), [&](size_t v) {
    cpu::ForceIsa(isas[v / 2]);
    if (v % 2 == 0)
      cpu::LightningIndexer(Pool(), ishape, ix.q.data(), ix.k.data(), ix.w.data(), RopeTables{}, ix.pool.data(),
                            selected.data());
    else
      cpu::SparseMlaAttention(Pool(), mshape, m.ql.data(), m.qr.data(), m.kv.data(), m.kr.data(),
                              RopeTables{}, latent_pool.data(), selected.data(), m.out.data());
  });
  for (size_t i = 0; i < isas.size(); ++i)
    std::printf("%-8s past %5lld new %4lld | %-6s indexer %8.3f ms (cpu %8.3f) | MLA %8.3f ms (cpu %8.3f)\n", phase,
                static_cast<long long>(past), static_cast<long long>(fresh), cpu::IsaName(isas[i]),
                t[2 * i].wall * 1e3, t[2 * i].cpu * 1e3, t[2 * i + 1].wall * 1e3, t[2 * i + 1].cpu * 1e3);
  std::fflush(stdout);
}

}  // namespace
}  // namespace glm_ops::bench

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "prefill") == 0) {
    const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
    std::printf("SparseMlaAttention prefill, no past, every causal position; threads %d; median of %d, AVX2 and "
                "AVX-512 alternating\n",
                glm_ops::bench::Threads().Threads(), repeats);
    glm_ops::bench::RunPrefill("small", 16, 256, 64, 512, repeats);
    glm_ops::bench::RunPrefill("glm52", 64, 512, 64, 512, repeats);
    glm_ops::bench::RunPrefill("glm52", 64, 512, 64, 2048, repeats);
    return 0;
  }
  if (argc > 1 && std::strcmp(argv[1], "small") == 0) {
    const int repeats = argc > 2 ? std::atoi(argv[2]) : 7;
    std::printf("small preset attention (indexer 32 x 64, top-k 256; MLA 16 heads, 256 + 64), one sequence; threads "
                "%d; median of %d, AVX2 and AVX-512 alternating\n",
                glm_ops::bench::Threads().Threads(), repeats);
    glm_ops::bench::RunSmall("prefill", 0, 512, repeats);
    glm_ops::bench::RunSmall("decode", 511, 1, repeats);
    glm_ops::bench::RunSmall("decode", 4095, 1, repeats);
    return 0;
  }
  const long long max_context = argc > 1 ? std::atoll(argv[1]) : 131072;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 7;
  std::printf("GLM-5.2 decode widths: indexer 32 heads x 128, top-k 2048; MLA 64 heads, latent 512 + rope 64; "
              "block 64; threads %d; median of %d\n",
              glm_ops::bench::Threads().Threads(), repeats);
  const glm_ops::bench::Rate read = glm_ops::bench::MeasureReadBandwidth(int64_t{1} << 30, repeats);
  const glm_ops::bench::Rate peak = glm_ops::bench::MeasureFmaPeak(repeats);
  std::printf("plain read bandwidth %.2f GB/s (per CPU-s %.2f); FMA peak %.1f GFLOP/s (per CPU-s %.1f)\n",
              read.wall / 1e9, read.cpu / 1e9, peak.wall / 1e9, peak.cpu / 1e9);
  std::printf("context batch | bytes = keys scanned (indexer), selected latent rows (MLA); x rd = wall GB/s / read "
              "bandwidth; x pk = GFLOP per CPU-s / FMA peak per CPU-s\n");
  for (long long context : {4096LL, 32768LL, 131072LL}) {
    if (context > max_context) continue;
    for (long long batch : {1LL, 8LL}) glm_ops::bench::Run(batch, context, repeats, read, peak);
  }
  return 0;
}
