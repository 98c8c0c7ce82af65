#include "cpu/dense_projection_int.h"

#include <algorithm>
#include <vector>

#include "cpu/amx_support.h"
#include "cpu/dense_projection.h"
#include "cpu/dense_projection_int_amx.h"
#include "cpu/dense_projection_int_kernels.h"
#include "cpu/isa_dispatch.h"

namespace glm_ops::cpu {

namespace {

// Output rows per work item: a multiple of every row step (4, 2, 1), small enough that lm_head's rows make
// thousands of items to balance and an item's rows stay in L1 (24 x 1 KiB at `small` widths) for its later token blocks.
constexpr int64_t kRowsPerItem = 24;

// Tokens per pass at most: their quantized activations (~3 bytes per column) are the call's only buffer, kept per
// calling thread, so a long prompt does not leave one of its own size behind.
constexpr int64_t kTokenChunk = 256;

// Tokens from which a pass quantizes its activations on the pool rather than on the calling thread.
constexpr int64_t kParallelQuantizeTokens = 16;

// The calling thread's quantized activations, reused between calls (the work items only read them).
struct Buffers {
  std::vector<int8_t> q;
  std::vector<int32_t> bias;
  std::vector<float> scales;
  std::vector<char> finite;  // per token of a pass quantized on the pool (no two threads write one flag)
  std::vector<int32_t> tiles;      // AMX: the pass's activations as B tiles (cpu/dense_projection_int_amx.h)
  std::vector<float> tile_scales;  // AMX: their scales per tile and chunk
};

}  // namespace

const DenseIntKernels& ActiveDenseIntKernels() {
  return ActiveIsa() == Isa::kAvx512 ? DenseIntKernelsAvx512() : DenseIntKernelsAvx2();
}

bool IntAmxUsable() {
  static const bool cpu_has_amx_int8 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("amx-int8") != 0;
  }();
  return cpu_has_amx_int8 && ActiveIsa() == Isa::kAvx512 && AmxEnabled();
}

bool DenseIntApplies(const DenseProjectionShape& s) {
  const bool int4 = s.format == ExpertWeightFormat::kInt4;
  return s.groups == 1 && (int4 || s.format == ExpertWeightFormat::kInt8) &&
         ActiveDenseIntKernels().supports(int4, s.quant_block_size);
}

bool DenseIntGemmTakes(const DenseProjectionShape& s) {
  const DenseIntKernels& k = ActiveDenseIntKernels();
  const bool int4 = s.format == ExpertWeightFormat::kInt4;
  return DenseIntApplies(s) && k.gemm && s.tokens >= (int4 ? k.gemm_min_tokens_int4 : k.gemm_min_tokens_int8);
}

namespace {

// Many tokens on the packed-panel kernel: per pass of up to kTokenChunk tokens, the activations quantized in column
// order (the rows up to the next multiple of kIntGemmTokens zero), then the panels split across the pool, each
// unpacked once into its thread's scratch and dotted with every token of the pass. Where the CPU has AMX-INT8
// (IntAmxUsable) and the groups are 32 columns, the pass's activations are laid out once as B tiles and 16-row panels
// run on the tiles instead.
bool ProjectPanels(const Parallel& parallel, const DenseProjectionShape& s, const float* x, const IntWeight& weight,
                   float* y) {
  const DenseIntKernels& k = ActiveDenseIntKernels();
  const bool int4 = weight.int4;
  const int64_t chunks = (s.in + 31) / 32, q_stride = chunks * 32;
  const int64_t chunk = std::min(s.tokens, kTokenChunk);
  const int64_t padded = (chunk + kIntGemmTokens - 1) / kIntGemmTokens * kIntGemmTokens;
  thread_local Buffers buffers;
  Buffers& b = buffers;
  b.q.resize(static_cast<size_t>(padded * q_stride));
  b.bias.resize(static_cast<size_t>(padded * chunks));    // the corrections
  b.scales.resize(static_cast<size_t>(padded * chunks));
  const int64_t panels = (s.out + kIntPanelRows - 1) / kIntPanelRows;
  // AMX for G 32 (the converter's groups) only: at G 128 its per-chunk scales cost more than it gained (measured,
  // docs/benchmarks.md, branch amxint).
  const bool amx = weight.group == 32 && IntAmxUsable();
  for (int64_t p0 = 0; p0 < s.tokens; p0 += chunk) {
    const int64_t n = std::min(chunk, s.tokens - p0), rounded = (n + kIntGemmTokens - 1) / kIntGemmTokens * kIntGemmTokens;
    const float* xc = x + p0 * s.in;
    std::vector<char>& ok = b.finite;
    ok.assign(static_cast<size_t>(n), 1);
    parallel.For(n, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t)
        ok[t] = k.quantize_columns(int4, xc + t * s.in, s.in, b.q.data() + t * q_stride, b.scales.data() + t * chunks,
                                   b.bias.data() + t * chunks);
    });
    if (!std::all_of(ok.begin(), ok.end(), [](char v) { return v != 0; })) return false;
    std::fill(b.q.begin() + n * q_stride, b.q.begin() + rounded * q_stride, int8_t{0});
    std::fill(b.scales.begin() + n * chunks, b.scales.begin() + rounded * chunks, 0.0f);
    std::fill(b.bias.begin() + n * chunks, b.bias.begin() + rounded * chunks, 0);
    if (amx) {
      // The pass's activations as B tiles once, then 16-row panels on the pool (cpu/dense_projection_int_amx.h).
      const DenseIntAmxKernels& a = DenseIntAmxKernelsAvx512();
      const int64_t tiles = (n + kIntAmxTileTokens - 1) / kIntAmxTileTokens;
      b.tiles.resize(static_cast<size_t>(tiles * chunks * kIntAmxChunkWords));
      b.tile_scales.resize(static_cast<size_t>(tiles * chunks * kIntAmxTileTokens));
      parallel.For(tiles, [&](int64_t begin, int64_t end) {
        a.layout_tokens(b.q.data(), q_stride, b.scales.data(), chunks, chunks, n, begin, end, b.tiles.data(),
                        b.tile_scales.data());
      });
      parallel.For((s.out + kIntAmxPanelRows - 1) / kIntAmxPanelRows, [&](int64_t begin, int64_t end) {
        thread_local std::vector<uint8_t> scratch;  // this thread's unpacked rows and scales (64-byte aligned inside)
        scratch.resize(static_cast<size_t>(IntAmxScratchBytes(s.in) + 64));
        const uintptr_t at = reinterpret_cast<uintptr_t>(scratch.data());
        a.gemm(weight, begin, end, b.tiles.data(), b.tile_scales.data(), n, y + p0 * s.out, s.out,
               scratch.data() + ((64 - at % 64) % 64));
      });
      continue;
    }
    parallel.For(panels, [&](int64_t begin, int64_t end) {
      thread_local std::vector<uint8_t> scratch;  // this thread's unpacked panel (64-byte aligned inside)
      scratch.resize(static_cast<size_t>(IntPanelBytes(s.in) + 64));
      const uintptr_t at = reinterpret_cast<uintptr_t>(scratch.data());
      uint8_t* panel = scratch.data() + ((64 - at % 64) % 64);
      k.gemm(weight, begin, end, b.q.data(), q_stride, b.scales.data(), b.bias.data(), chunks, n, y + p0 * s.out,
             s.out, panel);
    });
  }
  return true;
}

}  // namespace

bool DenseProjectionInt(const Parallel& parallel, const DenseProjectionShape& s, const float* x, const DenseWeight& w,
                        float* y) {
  const DenseIntKernels& k = ActiveDenseIntKernels();
  const bool int4 = s.format == ExpertWeightFormat::kInt4;
  const int64_t step = int4 ? k.int4_step : k.int8_step, steps = (s.in + step - 1) / step;
  const int64_t q_stride = steps * step, lane_stride = steps * k.lanes;
  const IntWeight weight{static_cast<const uint8_t*>(w.data), static_cast<const uint16_t*>(w.scales), s.out, s.in,
                         s.RowBytes(), s.ScaleCols(), s.quant_block_size, int4};
  if (DenseIntGemmTakes(s)) return ProjectPanels(parallel, s, x, weight, y);
  const int64_t chunk = std::min(s.tokens, kTokenChunk);
  thread_local Buffers buffers;
  Buffers& b = buffers;
  b.q.resize(static_cast<size_t>(chunk * q_stride));
  b.bias.resize(static_cast<size_t>(chunk * lane_stride));
  b.scales.resize(static_cast<size_t>(chunk * lane_stride));
  const IntTokens tokens{b.q.data(), b.bias.data(), b.scales.data(), q_stride, lane_stride};
  const int64_t items = (s.out + kRowsPerItem - 1) / kRowsPerItem;
  const bool caller_only = DenseRunsOnCaller(s);
  for (int64_t p0 = 0; p0 < s.tokens; p0 += chunk) {
    const int64_t n = std::min(chunk, s.tokens - p0);
    const float* xc = x + p0 * s.in;
    float* yc = y + p0 * s.out;
    bool finite = true;
    if (n < kParallelQuantizeTokens || caller_only) {
      for (int64_t t = 0; t < n; ++t)
        finite = k.quantize(int4, xc + t * s.in, s.in, b.q.data() + t * q_stride, b.bias.data() + t * lane_stride,
                            b.scales.data() + t * lane_stride) && finite;
    } else {
      std::vector<char>& ok = b.finite;
      ok.assign(static_cast<size_t>(n), 1);
      parallel.For(n, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t)
          ok[t] = k.quantize(int4, xc + t * s.in, s.in, b.q.data() + t * q_stride, b.bias.data() + t * lane_stride,
                             b.scales.data() + t * lane_stride);
      });
      finite = std::all_of(ok.begin(), ok.end(), [](char v) { return v != 0; });
    }
    if (!finite) return false;
    auto run = [&](int64_t begin, int64_t end) {
      for (int64_t item = begin; item < end; ++item) {
        const int64_t r0 = item * kRowsPerItem, r1 = std::min(s.out, r0 + kRowsPerItem);
        for (int64_t t0 = 0; t0 < n; t0 += kDenseIntMaxTokens) {
          const IntTokens block{tokens.q + t0 * q_stride, tokens.bias + t0 * lane_stride,
                                tokens.scales + t0 * lane_stride, q_stride, lane_stride};
          k.gemv(weight, r0, r1, block, std::min(kDenseIntMaxTokens, n - t0), yc + t0 * s.out + r0, s.out);
        }
      }
    };
    if (caller_only)
      run(0, items);
    else
      parallel.For(items, run);
  }
  return true;
}

}  // namespace glm_ops::cpu
