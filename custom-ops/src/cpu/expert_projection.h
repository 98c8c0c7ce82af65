// One expert weight matrix times a few routed tokens: y = W[r0:r1, :] . x_t, weights decoded on the fly from their
// stored format (float32, bf16, block FP8, int8 or int4), never expanded in memory. Internal to the MoeExperts
// kernel. The arithmetic lives in the per-ISA kernel tables of cpu/expert_kernels.h (float32, bf16, FP8) and of
// DenseProjection's own kernels: cpu/dense_projection_int_kernels.h for int8 / int4, and on AVX-512 FP8 at up to
// kDirectMaxTokens tokens cpu/dense_projection_kernels.h's gemv_fp8 (16 weights decoded per step, or 64 through
// cpu/dense_fp8_table.h's byte table, where the expert table's row kernel decodes 8: 1.4x / 1.8x its weights per
// CPU-second, docs/benchmarks.md). These wrappers size the scratch and call the tables chosen at load
// (cpu/isa_dispatch.h).
#pragma once

#include <cstdint>
#include <vector>

#include "common/moe_experts_validation.h"
#include "cpu/line_vector.h"

namespace glm_ops::cpu {

// The stored rows a caller projects next (the first of them, and the stride between rows), so that a kernel can
// request their first lines while it finishes its own rows instead of leaving them to be read cold. Null: none.
struct NextRows {
  const void* data = nullptr;
  int64_t row_bytes = 0;
};

// One expert's [rows, cols] matrix in its stored format.
struct WeightMatrix {
  ExpertWeightFormat format;
  const void* data;
  const void* scales;  // FP8: float [ceil(rows/qb), ceil(cols/qb)]; int8/int4: float16 bits [rows, ceil(cols/qb)]
  int64_t rows, cols, quant_block, scale_cols;
  int64_t row_bytes;  // stored bytes per row (int4: ceil(cols / 2))

  // Expert `expert` of a stacked [E, rows, cols] tensor (and its stacked scales, null unless quantized).
  static WeightMatrix Of(const MoeExpertsShape& shape, const void* stacked, const void* stacked_scales,
                         int64_t expert, int64_t rows, int64_t cols);
  // Its rows from `row` on, as the rows a caller projects next.
  NextRows From(int64_t row) const { return {static_cast<const char*>(data) + row * row_bytes, row_bytes}; }
};

// int8 / int4 weights take the integer path where DenseProjection's integer kernels take their group size G
// (cpu/dense_projection_int_kernels.h: G 32, or a multiple of the kernel step's columns, e.g. 128): each token's
// activations are quantized once per call to int8 per 32-column chunk and dotted with the stored bytes by the same
// one-token kernels DenseProjection runs (llama.cpp's q8_0 x q8_0 / q4_0 x q8_0). Elsewhere: exact float decode.
bool IntegerPathApplies(ExpertWeightFormat format, int64_t quant_block);

// One row's activations quantized for the integer path, in the layout of DenseProjection's kernels (QuantizedRows):
// q per step of columns, and per int32 lane of a step its correction (bias) and scale.
struct QuantizedRow {
  const int8_t* q = nullptr;
  const int32_t* bias = nullptr;
  const float* scales = nullptr;
  bool finite = true;  // false when x held a NaN or infinity: such tokens take the exact float path
};

// Elements per quantized row of `cols` activations for `format`'s weights: q bytes, and int32 / float lanes.
struct QuantizedLayout {
  int64_t q_stride, lane_stride;
};
QuantizedLayout QuantizedRowLayout(ExpertWeightFormat format, int64_t cols);

// Quantized rows, the buffers reused between calls (callers keep one per thread).
class QuantizedRows {
 public:
  // Room for `count` rows of `cols` activations for `format`'s weights (IntegerPathApplies); forgets earlier rows.
  void Reset(ExpertWeightFormat format, int64_t count, int64_t cols);
  // Quantizes x[0..cols) into row i; rows may be quantized from several threads at once.
  void Quantize(int64_t i, const float* x);
  // Row i (after Quantize), or all rows: null when the last Reset was for no rows or Clear was called since.
  const QuantizedRow* Rows() const { return rows_.empty() ? nullptr : rows_.data(); }
  void Clear() { rows_.clear(); }

 private:
  bool int4_ = false;
  int64_t cols_ = 0;
  QuantizedLayout layout_{0, 0};
  std::vector<int8_t> q_;
  std::vector<int32_t> bias_;
  std::vector<float> scales_;
  std::vector<QuantizedRow> rows_;
};

// bf16 weights where the active ISA has the 512-bit kernel (AVX-512): each token's activations are reordered once per
// call to the weights' pairing (per 32 columns: the 16 even ones, then the 16 odd ones), and 64-byte loads of weights
// are decoded in registers and multiplied in float32 for every token count (a token's result does not depend on how
// many tokens share its expert). Elsewhere bf16 takes ProjectRows' float32 paths.
bool Bf16PairsApply(ExpertWeightFormat format);

// Columns of a pair-ordered row: a multiple of 32 (zero-padded).
constexpr int64_t PairColumns(int64_t cols) { return (cols + 31) / 32 * 32; }

// Reorders x[0..cols) into out [PairColumns(cols)] (Bf16PairsApply only).
void PairBf16Row(const float* x, int64_t cols, float* out);

// Pair-ordered rows, the buffers reused between calls (callers keep one per thread), as QuantizedRows for the
// integer path.
class PairedRows {
 public:
  // Room for `count` rows of `cols` activations; forgets earlier rows.
  void Reset(int64_t count, int64_t cols);
  // Reorders x[0..cols) into row i (PairBf16Row); rows may be paired from several threads at once.
  void Pair(int64_t i, const float* x) { PairBf16Row(x, cols_, rows_[i]); }
  // Row i (after Pair), or all rows: null when the last Reset was for no rows or Clear was called since.
  const float* const* Rows() const { return rows_.empty() ? nullptr : rows_.data(); }
  void Clear() { rows_.clear(); }

 private:
  int64_t cols_ = 0;
  LineVector<float> values_;  // rows start on cache lines (PairColumns is a multiple of 32 floats)
  std::vector<float*> rows_;
};

// y[t * ldy + (r - r0)] = sum_c W[r, c] * x_t[c] for bf16 weights, xp[t] token t's pair-ordered row.
void ProjectRowsBf16Pairs(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* xp, int64_t n, float* y,
                          int64_t ldy, const NextRows& next = {});

// Per-thread buffers of ProjectRows, reused between calls.
struct ProjectionScratch {
  std::vector<float> tile;     // decoded weight tile
  std::vector<float> partial;  // per (token, tile row) 8-lane partial sums
  std::vector<float> tail;     // per (token, tile row) sums over columns past the last multiple of 8
  std::vector<const float*> columns;  // per token: its activations at the tile's first column
  // Integer path: a block's quantized rows copied side by side (stride QuantizedRowLayout) where they are not.
  std::vector<int8_t> gathered_q;
  std::vector<int32_t> gathered_bias;
  std::vector<float> gathered_scales;
};

// Rows a caller's row range should be a multiple of (except at the matrix end) for full tiles.
constexpr int64_t kProjectionRowQuantum = 12;

// Tokens per expert up to which float/bf16/FP8 weights are decoded in registers as they stream (each weight read
// once, no tile); above it a tile is decoded once and reused by every token.
constexpr int64_t kDirectMaxTokens = 4;

// Tokens of the next block of a row projection (the decoded tile's 12 accumulators, the integer path's blocks of up
// to four tokens): balanced, 5 = 3 + 2, 9 = 3 + 3 + 3, since every block re-reads the item's rows and a block of one
// token pays those reads for one token (a prefill puts ~8 tokens on an expert).
constexpr int64_t NextTokenBlock(int64_t remaining) {
  const int64_t blocks = (remaining + 3) / 4;
  return (remaining + blocks - 1) / blocks;
}

// Tokens up to which DenseProjection quantizes its activations for the integer path (its own choice; the row
// projection takes the integer path for any number of tokens that come with quantized activations, and MoeExperts
// always brings them: each weight block is then read once per four tokens, the dot products run on bytes).
constexpr int64_t kIntegerMaxTokens = 8;

// y[t * ldy + (r - r0)] = sum_c W[r, c] * x[t][c] for r in [r0, r1), t < n. xq: the tokens' quantized activations
// (QuantizedRows) for int8/int4 weights where IntegerPathApplies, else may be null; given, any n takes the integer
// path (unless a token's activations are not finite), in blocks of up to four tokens (the later blocks find the rows
// in L1/L2), each token's result computed the same way whatever block it falls in. float32 / bf16: a token's sums
// are the same bits at any n (the register-decoded and tile paths share their order); FP8 on AVX-512 sums in another
// order at up to kDirectMaxTokens tokens than on the tiles above it (last bits only; nothing compares FP8 runs bit
// for bit).
void ProjectRows(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* x, const QuantizedRow* xq,
                 int64_t n, float* y, int64_t ldy, ProjectionScratch& scratch);

}  // namespace glm_ops::cpu
