// One expert weight matrix times a few routed tokens: y = W[r0:r1, :] . x_t, weights decoded on the fly from their
// stored format (float32, bf16, block FP8, int8 or int4), never expanded in memory. Internal to the MoeExperts
// kernel. The arithmetic lives in the per-ISA kernel tables of cpu/expert_kernels.h; these wrappers size the scratch
// and call the table chosen at load (cpu/isa_dispatch.h).
#pragma once

#include <cstdint>
#include <vector>

#include "common/moe_experts_validation.h"

namespace glm_ops::cpu {

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
};

// Granularity of the int8 activations of the integer path: the weights' group (quant_block_size) when it is a
// multiple of this, so one float16 weight scale and one activation scale cover whole 32-column chunks.
constexpr int64_t kActivationChunk = 32;

// Whether int8/int4 weights of this group size take the integer dot-product path (else: exact float decode).
constexpr bool IntegerPathApplies(ExpertWeightFormat format, int64_t quant_block) {
  return (format == ExpertWeightFormat::kInt8 || format == ExpertWeightFormat::kInt4) &&
         quant_block % kActivationChunk == 0;
}

// One token's activations quantized for the integer path (docs/onnx-contract.md, "MoeExperts" execution notes):
// per group of quant_block_size columns, scale = max|x| / 127 and q = round-to-nearest-even(x / scale) in
// [-127, 127] (an all-zero group: scale 0, q 0). q is padded with zeros to a multiple of 32 columns; for int4
// weights each 32-column chunk is stored as its 16 even columns, then its 16 odd ones (the nibble order of the
// weights). sums[g] = sum of q over group g (folds in int4's +8 offset).
struct QuantizedRow {
  const int8_t* q = nullptr;
  const float* scales = nullptr;
  const int32_t* sums = nullptr;
  bool finite = true;  // false when x held a NaN or infinity: such tokens take the exact float path
};

// Buffers of one quantized row, owned by the caller.
struct QuantizedRowBuffer {
  std::vector<int8_t> q;
  std::vector<float> scales;
  std::vector<int32_t> sums;
};

// Columns of the padded q of a row of `cols` activations.
constexpr int64_t QuantizedColumns(int64_t cols) { return (cols + kActivationChunk - 1) / kActivationChunk * kActivationChunk; }

// Quantizes x[0..cols) for weights in `format` with groups of `quant_block` (IntegerPathApplies must hold) into
// q [QuantizedColumns(cols)], scales and sums [ceil(cols / quant_block)].
QuantizedRow QuantizeRow(ExpertWeightFormat format, int64_t quant_block, const float* x, int64_t cols, int8_t* q,
                         float* scales, int32_t* sums);

// Per-thread buffers of ProjectRows, reused between calls.
struct ProjectionScratch {
  std::vector<float> tile;     // decoded weight tile
  std::vector<float> partial;  // per (token, tile row) 8-lane partial sums
  std::vector<float> tail;     // per (token, tile row) sums over columns past the last multiple of 8
  std::vector<const float*> columns;  // per token: its activations at the tile's first column
};

// Rows a caller's row range should be a multiple of (except at the matrix end) for full tiles.
constexpr int64_t kProjectionRowQuantum = 12;

// Tokens per expert up to which float/bf16/FP8 weights are decoded in registers as they stream (each weight read
// once, no tile); above it a tile is decoded once and reused by every token.
constexpr int64_t kDirectMaxTokens = 4;

// Tokens per expert up to which int8/int4 weights take the integer dot-product path (weights read from memory once,
// re-read from L1 for every further block of four tokens); above it the decoded float tile.
constexpr int64_t kIntegerMaxTokens = 8;

// y[t * ldy + (r - r0)] = sum_c W[r, c] * x[t][c] for r in [r0, r1), t < n. xq: the tokens' quantized activations
// (QuantizeRow) for int8/int4 weights where IntegerPathApplies, else may be null.
void ProjectRows(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* x, const QuantizedRow* xq,
                 int64_t n, float* y, int64_t ldy, ProjectionScratch& scratch);

}  // namespace glm_ops::cpu
