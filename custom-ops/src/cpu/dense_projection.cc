#include "cpu/dense_projection.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/amx_support.h"
#include "cpu/dense_projection_amx.h"
#include "cpu/dense_projection_gemm.h"
#include "cpu/dense_projection_int.h"
#include "cpu/dense_projection_kernels.h"
#include "cpu/expert_projection.h"
#include "cpu/isa_dispatch.h"

namespace glm_ops::cpu {

namespace {

// Output rows per work item: two of the row projection's 12-row tiles (as MoeExperts), so an item is either full
// tiles or 2- / 4-row register steps, and lm_head's 154880 rows still make thousands of items to balance.
constexpr int64_t kRowsPerItem = 2 * kProjectionRowQuantum;

// Tokens per pass of the row projection at most: their activation rows stay in L2 while a decoded tile is reused by
// each of them.
constexpr int64_t kMaxTokenChunk = 32;

// Weight bytes times tokens up to which a call runs on the calling thread alone: waking a pool thread and handing it
// pieces costs more than the work it would take over (a 64x64 bf16 call is ~2 us of CPU for the whole Session.Run,
// docs/benchmarks.md).
constexpr int64_t kCallerOnlyBytes = 64 * 1024;
static_assert(kRowsPerItem % kDenseGemvRowQuantum == 0, "the bf16 decode kernels' row steps divide a work item");

}  // namespace

bool DenseRunsOnCaller(const DenseProjectionShape& s) {
  return s.out * s.RowBytes() * std::max<int64_t>(1, s.tokens) <= kCallerOnlyBytes;
}

namespace {

// int8/int4 weights at decode sizes: each token's activations quantized once per call (QuantizedRows), for the row
// projection's integer dot-product path; no rows for other formats and sizes.
void QuantizeTokens(const Parallel& parallel, const DenseProjectionShape& s, const float* x, QuantizedRows& out) {
  out.Clear();
  if (s.tokens > kIntegerMaxTokens || !IntegerPathApplies(s.format, s.quant_block_size)) return;
  out.Reset(s.format, s.tokens, s.in);
  parallel.For(s.tokens, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) out.Quantize(t, x + t * s.in);
  });
}

// Rows [r0, r1) of the output for every token, the weights streamed once per token chunk.
void ProjectItems(const Parallel& parallel, const DenseProjectionShape& s, const float* x, const DenseWeight& w,
                  float* y, int64_t token_chunk) {
  MoeExpertsShape one;  // the single matrix as expert 0 of a one-expert stack
  one.quant_block_size = s.quant_block_size;
  one.format = s.format;
  const WeightMatrix matrix = WeightMatrix::Of(one, w.data, w.scales, 0, s.out, s.in);
  // (A reference: the work items run on pool threads, whose own thread_local objects are not this one.)
  thread_local QuantizedRows quantized_buffer;
  QuantizedRows& quantized = quantized_buffer;
  QuantizeTokens(parallel, s, x, quantized);
  const QuantizedRow* xq = quantized.Rows();
  const int64_t items = (s.out + kRowsPerItem - 1) / kRowsPerItem;
  auto run = [&](int64_t begin, int64_t end) {
    thread_local ProjectionScratch scratch;
    thread_local std::vector<const float*> rows;
    rows.resize(static_cast<size_t>(s.tokens));
    for (int64_t t = 0; t < s.tokens; ++t) rows[t] = x + t * s.in;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t r0 = item * kRowsPerItem, r1 = std::min(s.out, r0 + kRowsPerItem);
      for (int64_t t0 = 0; t0 < s.tokens; t0 += token_chunk) {
        const int64_t n = std::min(token_chunk, s.tokens - t0);
        // ProjectRows writes y[t * ldy + (r - r0)]: the output's own rows, stride `out`.
        ProjectRows(matrix, r0, r1, rows.data() + t0, xq ? xq + t0 : nullptr, n, y + t0 * s.out + r0, s.out, scratch);
      }
    }
  };
  if (DenseRunsOnCaller(s)) return run(0, items);
  parallel.For(items, run);
}

// Calls project(r0, r1) over the output rows in items of kRowsPerItem rows: all on the calling thread for a small call
// (DenseRunsOnCaller), else split across the pool. The decode kernels' callers below.
template <typename Project>
void ForRowItems(const Parallel& parallel, const DenseProjectionShape& s, const Project& project) {
  auto run = [&](int64_t begin, int64_t end) { project(begin * kRowsPerItem, std::min(s.out, end * kRowsPerItem)); };
  const int64_t items = (s.out + kRowsPerItem - 1) / kRowsPerItem;
  if (DenseRunsOnCaller(s)) return run(0, items);
  parallel.For(items, run);
}

// bf16 weights at decode sizes: DenseProjection's own kernels (cpu/dense_projection_kernels.h), the activations
// permuted once per call, the rows split in items across the pool, each item's rows streamed once per block of up
// to kDenseGemvMaxTokens tokens (the later blocks find them in L2: 24 rows of 6144 bf16 columns are 295 KB).
void ProjectBf16Items(const Parallel& parallel, const DenseProjectionShape& s, const float* x, const DenseWeight& w,
                      float* y) {
  const DenseKernels& k = ActiveDenseKernels();
  const int64_t whole = s.in / k.bf16_block * k.bf16_block;
  thread_local std::vector<float> permuted_buffer;  // the calling thread's; the items only read it
  std::vector<float>& permuted = permuted_buffer;
  permuted.resize(static_cast<size_t>(s.tokens * whole));
  for (int64_t t = 0; t < s.tokens; ++t) k.permute_bf16_activations(x + t * s.in, s.in, permuted.data() + t * whole);
  const uint16_t* weights = static_cast<const uint16_t*>(w.data);
  const float* xp = permuted.data();
  ForRowItems(parallel, s, [&](int64_t r0, int64_t r1) {
    for (int64_t t0 = 0; t0 < s.tokens; t0 += kDenseGemvMaxTokens)
      k.gemv_bf16(weights, s.in, r0, r1, xp + t0 * whole, whole, x + t0 * s.in, s.in,
                  std::min(kDenseGemvMaxTokens, s.tokens - t0), y + t0 * s.out + r0, s.out);
  });
}

// float32 weights at decode sizes (up to kDenseGemvMaxTokens tokens): DenseProjection's own gemv kernel, the rows
// split in items across the pool (or all on the calling thread for a small call), each weight read once.
void ProjectF32Items(const Parallel& parallel, const DenseProjectionShape& s, const float* x, const DenseWeight& w,
                     float* y) {
  const DenseKernels& k = ActiveDenseKernels();
  const float* weights = static_cast<const float*>(w.data);
  ForRowItems(parallel, s, [&](int64_t r0, int64_t r1) {
    k.gemv_f32(weights, s.in, r0, r1, x, s.in, s.tokens, y + r0, s.out);
  });
}

// Block-FP8 weights at decode sizes on AVX-512: DenseProjection's own FP8 gemv kernel, items as for float32.
void ProjectFp8Items(const Parallel& parallel, const DenseProjectionShape& s, const float* x, const DenseWeight& w,
                     float* y) {
  const DenseKernels& k = ActiveDenseKernels();
  const uint8_t* weights = static_cast<const uint8_t*>(w.data);
  const float* scales = static_cast<const float*>(w.scales);
  const float* rows[kDenseGemvMaxTokens];
  for (int64_t t = 0; t < s.tokens; ++t) rows[t] = x + t * s.in;
  ForRowItems(parallel, s, [&](int64_t r0, int64_t r1) {
    k.gemv_fp8(weights, scales, s.out, s.in, s.quant_block_size, r0, r1, rows, s.tokens, y + r0, s.out);
  });
}

// A Parallel that runs every loop on the calling thread: the groups of DenseProjectionGrouped are the parallel items.
class CallerOnly final : public Parallel {
 public:
  int Threads() const override { return 1; }
  void For(int64_t count, const Range& fn, int64_t) const override {
    if (count > 0) fn(0, count);
  }
};

// groups > 1 below kDenseGemmMinTokens: the row projection over every group's rows in one pass of the pool (one
// call's fixed costs instead of one per group), each work item inside one group, reading that group's columns of the
// token rows; int8/int4 activations quantized once per (group, token), bf16 ones (AVX-512) reordered once per (group,
// token) to the weights' column pairs for MoeExperts' 512-bit pair kernel (the rows of W_UK / W_UV are 128-512 columns
// short, where the register-decoded float path streams about half as fast).
void ProjectGroupedItems(const Parallel& parallel, const DenseProjectionShape& s, const float* x, const DenseWeight& w,
                         float* y) {
  MoeExpertsShape one;  // the whole [out, in] weight as expert 0 of a one-expert stack: its scales are the whole's
  one.quant_block_size = s.quant_block_size;
  one.format = s.format;
  const WeightMatrix matrix = WeightMatrix::Of(one, w.data, w.scales, 0, s.out, s.in);
  const int64_t rows = s.GroupRows(), width = s.InputWidth();
  const int64_t per_group = (rows + kRowsPerItem - 1) / kRowsPerItem;
  const int64_t chunks = (s.tokens + kMaxTokenChunk - 1) / kMaxTokenChunk;
  const int64_t token_chunk = (s.tokens + chunks - 1) / chunks;
  // Token t's input columns of group g; prepared activations are group-major: group g's tokens are rows
  // [g * tokens, (g + 1) * tokens).
  auto row_of = [&](int64_t g, int64_t t) { return x + t * width + g * s.in; };
  const int64_t count = s.groups * s.tokens;
  auto group_row = [&](int64_t i) { return row_of(i / s.tokens, i % s.tokens); };
  thread_local QuantizedRows quantized_buffer;  // the calling thread's; the items only read it
  QuantizedRows& quantized = quantized_buffer;
  quantized.Clear();
  if (s.tokens <= kIntegerMaxTokens && IntegerPathApplies(s.format, s.quant_block_size)) {
    quantized.Reset(s.format, count, s.in);
    for (int64_t i = 0; i < count; ++i) quantized.Quantize(i, group_row(i));
  }
  thread_local PairedRows paired_buffer;  // likewise
  PairedRows& paired = paired_buffer;
  paired.Clear();
  if (Bf16PairsApply(s.format)) {
    paired.Reset(count, s.in);
    for (int64_t i = 0; i < count; ++i) paired.Pair(i, group_row(i));
  }
  const QuantizedRow* xq = quantized.Rows();
  const float* const* xp = paired.Rows();
  auto run = [&](int64_t begin, int64_t end) {
    thread_local ProjectionScratch scratch;
    thread_local std::vector<const float*> token_rows;
    token_rows.resize(static_cast<size_t>(s.tokens));
    for (int64_t item = begin; item < end; ++item) {
      const int64_t g = item / per_group;
      const int64_t r0 = g * rows + (item % per_group) * kRowsPerItem, r1 = std::min((g + 1) * rows, r0 + kRowsPerItem);
      for (int64_t t = 0; t < s.tokens; ++t) token_rows[t] = row_of(g, t);
      for (int64_t t0 = 0; t0 < s.tokens; t0 += token_chunk) {
        const int64_t n = std::min(token_chunk, s.tokens - t0);
        if (xp)
          ProjectRowsBf16Pairs(matrix, r0, r1, xp + g * s.tokens + t0, n, y + t0 * s.out + r0, s.out);
        else
          ProjectRows(matrix, r0, r1, token_rows.data() + t0, xq ? xq + g * s.tokens + t0 : nullptr, n,
                      y + t0 * s.out + r0, s.out, scratch);
      }
    }
  };
  const int64_t items = s.groups * per_group;
  if (DenseRunsOnCaller(s)) return run(0, items);
  parallel.For(items, run);
}

// Tokens per pass of the split-activation kernel at most: their split activations (2 x in bf16 each, 6 MiB for 256
// tokens at in = 6144) are the call's only buffer, kept per calling thread, so a long prompt does not leave one of
// its own size behind; each further pass streams the weights once more (prefill is compute-bound there).
constexpr int64_t kDotTokenChunk = 256;

// Input width from which more than kDenseGemvMaxTokens tokens take the cache-blocked kernel (gemm_bf16_dot): its
// packing, per-block zeroing and reductions cost more than L2 reads save on short rows. Measured, one thread, 32
// tokens, thread CPU ms gemv in L2 row blocks / gemm: 6144 -> 2048 8.4 / 6.0, 2048 -> 4096 5.4 / 3.8, 16384 -> 1024
// 9.6 / 8.2, 1024 -> 5632 2.8 / 3.1 (load ~15, docs/benchmarks.md).
constexpr int64_t kDotGemmMinColumns = 2048;

// Weight bytes per row block of the gemv kernel over more than kDenseGemvMaxTokens tokens: the block stays in L2
// (1 MiB per core on Zen 4 / 5) beside one 4-token block of split activations while every 4-token block reads it.
constexpr int64_t kDotBlockBytes = 384 * 1024;

// Rows per such block: kDotBlockBytes of bf16 rows, a multiple of the kernels' row quantum, at least one quantum.
int64_t DotBlockRows(int64_t in) {
  const int64_t rows = kDotBlockBytes / (2 * in) / kDenseGemvRowQuantum * kDenseGemvRowQuantum;
  return std::max(kDenseGemvRowQuantum, rows);
}

// bf16 weights on AVX512_BF16, any token count: each token's activations split once per pass into two bf16 terms
// (cpu/dense_projection_kernels.h, split_bf16_activations), then each piece of rows goes through vdpbf16ps: up to
// kDenseGemvMaxTokens tokens by the gemv kernel (each weight read once), more by the cache-blocked gemm kernel from
// kDotGemmMinColumns input columns, else by the gemv kernel per 4-token block over L2-sized row blocks.
void ProjectBf16DotItems(const Parallel& parallel, const DenseProjectionShape& s, const float* x,
                         const DenseWeight& w, float* y) {
  const DenseKernels& k = ActiveDenseKernels();
  const int64_t whole = s.in / k.bf16_block * k.bf16_block, ld = 2 * whole;
  const int64_t chunk = std::min(s.tokens, kDotTokenChunk);
  thread_local std::vector<uint16_t> split_buffer;  // the calling thread's; the items only read it
  std::vector<uint16_t>& split = split_buffer;
  split.resize(static_cast<size_t>(chunk * ld));
  const uint16_t* weights = static_cast<const uint16_t*>(w.data);
  const int64_t items = (s.out + kRowsPerItem - 1) / kRowsPerItem;
  const bool caller_only = DenseRunsOnCaller(s);
  const int64_t block_rows = DotBlockRows(s.in);
  for (int64_t p0 = 0; p0 < s.tokens; p0 += chunk) {
    const int64_t n = std::min(chunk, s.tokens - p0);
    const float* xc = x + p0 * s.in;
    float* yc = y + p0 * s.out;
    auto split_tokens = [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) k.split_bf16_activations(xc + t * s.in, s.in, split.data() + t * ld);
    };
    const uint16_t* xb = split.data();
    auto run = [&](int64_t begin, int64_t end) {
      const int64_t r0 = begin * kRowsPerItem, r1 = std::min(s.out, end * kRowsPerItem);
      if (n > kDenseGemvMaxTokens && s.in >= kDotGemmMinColumns) {
        thread_local std::vector<float> scratch;
        scratch.resize(static_cast<size_t>(n * kDenseGemmDotScratchPerToken));
        return k.gemm_bf16_dot(weights, s.in, r0, r1, xb, ld, xc, s.in, n, yc + r0, s.out, scratch.data());
      }
      // A piece is up to 1/8 of the matrix (PieceSize), beyond L2 at real widths: its rows go in L2-sized blocks, each
      // read from memory by the first 4-token block and from L2 by the others (not the whole piece per 4 tokens).
      for (int64_t b0 = r0; b0 < r1; b0 += block_rows) {
        const int64_t b1 = std::min(r1, b0 + block_rows);
        for (int64_t t0 = 0; t0 < n; t0 += kDenseGemvMaxTokens)
          k.gemv_bf16_dot(weights, s.in, b0, b1, xb + t0 * ld, ld, xc + t0 * s.in, s.in,
                          std::min(kDenseGemvMaxTokens, n - t0), yc + t0 * s.out + b0, s.out);
      }
    };
    if (caller_only) {
      split_tokens(0, n);
      run(0, items);
      continue;
    }
    if (n >= kDenseGemvMaxTokens) parallel.For(n, split_tokens);
    else split_tokens(0, n);
    parallel.For(items, run);
  }
}

// bf16 weights, more than kDenseGemvMaxTokens tokens, on AMX (cpu/dense_projection_amx.h): per pass of up to
// kDotTokenChunk tokens, their split activations laid out as B tiles once (token tiles across the pool), then work
// items of kAmxBlockRows rows, each block's weights read once from memory and kept in L2 for its token tiles.
bool AmxApplies(const DenseProjectionShape& s) {
  return s.tokens > kDenseGemvMaxTokens && s.in >= kAmxTileColumns && ActiveIsa() == Isa::kAvx512 && AmxEnabled();
}

void ProjectBf16AmxItems(const Parallel& parallel, const DenseProjectionShape& s, const float* x,
                         const DenseWeight& w, float* y) {
  const DenseAmxKernels& k = DenseAmxKernelsAvx512();
  const int64_t blocks = s.in / kAmxTileColumns, tile_words = blocks * 2 * kAmxTileWords;
  const int64_t chunk = std::min(s.tokens, kDotTokenChunk);
  const int64_t max_tiles = (chunk + kAmxTileTokens - 1) / kAmxTileTokens;
  thread_local std::vector<uint32_t> b_buffer;  // the calling thread's; the items only read it
  std::vector<uint32_t>& b = b_buffer;
  b.resize(static_cast<size_t>(max_tiles * tile_words));
  const uint16_t* weights = static_cast<const uint16_t*>(w.data);
  const int64_t items = (s.out + kAmxBlockRows - 1) / kAmxBlockRows;
  const bool caller_only = DenseRunsOnCaller(s);
  for (int64_t p0 = 0; p0 < s.tokens; p0 += chunk) {
    const int64_t n = std::min(chunk, s.tokens - p0);
    const int64_t tiles = (n + kAmxTileTokens - 1) / kAmxTileTokens;
    const float* xc = x + p0 * s.in;
    float* yc = y + p0 * s.out;
    auto split = [&](int64_t begin, int64_t end) { k.split_bf16_amx(xc, n, s.in, s.in, begin, end, b.data()); };
    auto run = [&](int64_t begin, int64_t end) {
      thread_local std::vector<uint16_t> pad;
      pad.resize(static_cast<size_t>(kAmxBlockRows * s.in));
      const int64_t r0 = begin * kAmxBlockRows, r1 = std::min(s.out, end * kAmxBlockRows);
      k.gemm_bf16_amx(weights, s.in, s.out, r0, r1, b.data(), xc, s.in, n, yc + r0, s.out, pad.data());
    };
    if (caller_only) {
      split(0, tiles);
      run(0, items);
      continue;
    }
    parallel.For(tiles, split);
    parallel.For(items, run);
  }
}

}  // namespace

void DenseProjectionGrouped(const Parallel& parallel, const DenseProjectionShape& s, const float* x,
                            const DenseWeight& w, float* y) {
  if (s.tokens == 0) return;
  if (s.tokens < kDenseGemmMinTokens) return ProjectGroupedItems(parallel, s, x, w, y);
  DenseProjectionShape one = s;  // a group as a one-matrix projection of `in` columns to GroupRows() rows
  one.groups = 1;
  one.out = s.GroupRows();
  const int64_t width = s.InputWidth();
  // int8/int4 scales are per row; FP8 groups start on a scale block (validated), so each group's scales are a slice.
  const int64_t scale_bytes = s.format == ExpertWeightFormat::kFloat8E4M3 ? sizeof(float) : sizeof(uint16_t);
  const int64_t scale_rows_per_group = one.ScaleRows();
  parallel.For(s.groups, [&](int64_t begin, int64_t end) {
    const CallerOnly caller;
    thread_local std::vector<float> x_buffer, y_buffer;  // this thread's group's [tokens, in] and [tokens, rows]
    for (int64_t g = begin; g < end; ++g) {
      const DenseWeight wg{
          static_cast<const uint8_t*>(w.data) + g * one.out * one.RowBytes(),
          w.scales ? static_cast<const uint8_t*>(w.scales) + g * scale_rows_per_group * one.ScaleCols() * scale_bytes
                   : nullptr};
      x_buffer.resize(static_cast<size_t>(s.tokens * s.in));
      y_buffer.resize(static_cast<size_t>(s.tokens * one.out));
      for (int64_t t = 0; t < s.tokens; ++t)
        std::memcpy(x_buffer.data() + t * s.in, x + t * width + g * s.in, static_cast<size_t>(s.in) * sizeof(float));
      DenseProjection(caller, one, x_buffer.data(), wg, y_buffer.data());
      for (int64_t t = 0; t < s.tokens; ++t)
        std::memcpy(y + t * s.out + g * one.out, y_buffer.data() + t * one.out,
                    static_cast<size_t>(one.out) * sizeof(float));
    }
  });
}

void DenseProjectionByRows(const Parallel& parallel, const DenseProjectionShape& s, const float* x,
                           const DenseWeight& w, float* y) {
  if (s.tokens == 0) return;
  const int64_t chunks = (s.tokens + kMaxTokenChunk - 1) / kMaxTokenChunk;
  ProjectItems(parallel, s, x, w, y, (s.tokens + chunks - 1) / chunks);  // equal chunks: 33 tokens are 17 + 16
}

bool DenseBf16GemmTakes(const DenseProjectionShape& s) {
  if (s.format != ExpertWeightFormat::kBFloat16 || s.groups != 1 || AmxApplies(s)) return false;
  return s.tokens >= (ActiveDenseKernels().gemv_bf16_dot ? kDenseBf16GemmMinTokens : kDenseGemmMinTokens);
}

const DenseKernels& ActiveDenseKernels() {
  return ActiveIsa() == Isa::kAvx512 ? DenseKernelsAvx512() : DenseKernelsAvx2();
}

void DenseProjection(const Parallel& parallel, const DenseProjectionShape& s, const float* x, const DenseWeight& w,
                     float* y) {
  if (s.tokens == 0) return;
  if (s.groups > 1) return DenseProjectionGrouped(parallel, s, x, w, y);
  if (s.format == ExpertWeightFormat::kBFloat16) {
    if (AmxApplies(s)) return ProjectBf16AmxItems(parallel, s, x, w, y);
    if (DenseBf16GemmTakes(s)) return DenseProjectionGemm(parallel, s, x, w, y);
    if (ActiveDenseKernels().gemv_bf16_dot && s.tokens > kDenseBf16DecodeKernelMaxTokens)
      return ProjectBf16DotItems(parallel, s, x, w, y);
    if (s.tokens <= kDenseBf16GemvMaxTokens) return ProjectBf16Items(parallel, s, x, w, y);
  }
  if (s.format == ExpertWeightFormat::kFloat32 && s.tokens <= kDenseGemvMaxTokens) return ProjectF32Items(parallel, s, x, w, y);
  if (s.format == ExpertWeightFormat::kFloat8E4M3 && s.tokens <= kDenseGemvMaxTokens && ActiveDenseKernels().gemv_fp8)
    return ProjectFp8Items(parallel, s, x, w, y);
  if (DenseIntApplies(s) && DenseProjectionInt(parallel, s, x, w, y)) return;
  if (s.tokens >= kDenseGemmMinTokens && DenseGemmDecodes(s.format)) return DenseProjectionGemm(parallel, s, x, w, y);
  DenseProjectionByRows(parallel, s, x, w, y);
}

}  // namespace glm_ops::cpu
