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

// Columns per int8 activation scale on the integer path (as llama.cpp's Q8_0 activations). The weights' group G
// must be a multiple of it, so one float16 weight scale covers whole chunks.
constexpr int64_t kActivationChunk = 32;

// Whether int8/int4 weights of this group size take the integer dot-product path (else: exact float decode).
constexpr bool IntegerPathApplies(ExpertWeightFormat format, int64_t quant_block) {
  return (format == ExpertWeightFormat::kInt8 || format == ExpertWeightFormat::kInt4) &&
         quant_block % kActivationChunk == 0;
}

// One token's activations quantized for the integer path (docs/onnx-contract.md, MoeExperts execution notes): per
// chunk k of 32 columns, scales[k] = max|x| / 127 and q = round-to-nearest-even(x * (127 / max|x|)) in [-127, 127]
// (an all-zero chunk: scale 0, q 0), zero-padded to a multiple of 128 columns; for int4 weights each 128-column
// block is stored as its 64 even columns, then its 64 odd ones (the nibble order of the weights: one 64-byte load of
// int4 weights holds the block's even columns in its low nibbles, the odd ones in its high nibbles). What int4's
// stored q + 8 (and int8's q + 128) adds to a dot product is removed in int32 by the kernels (ProjectRows' lane sums).
struct QuantizedRow {
  const int8_t* q = nullptr;
  const float* scales = nullptr;
  bool finite = true;  // false when x held a NaN or infinity: such tokens take the exact float path
};

// Columns of the padded q of a row of `cols` activations: a multiple of 128, the AVX-512 int4 kernel's step (scales:
// QuantizedColumns / 32, the padding chunks' being 0).
constexpr int64_t QuantizedColumns(int64_t cols) { return (cols + 127) / 128 * 128; }

// Quantizes x[0..cols) for int8 / int4 weights (`format`'s column order) into q [QuantizedColumns(cols)] and
// scales [QuantizedColumns(cols) / 32].
QuantizedRow QuantizeRow(ExpertWeightFormat format, const float* x, int64_t cols, int8_t* q, float* scales);

// bf16 weights where the active ISA has the 512-bit kernel (AVX-512): each token's activations are reordered once per
// call to the weights' pairing (per 32 columns: the 16 even ones, then the 16 odd ones), and 64-byte loads of weights
// are decoded in registers and multiplied in float32 for every token count (a token's result does not depend on how
// many tokens share its expert). Elsewhere bf16 takes ProjectRows' float32 paths.
bool Bf16PairsApply(ExpertWeightFormat format);

// Columns of a pair-ordered row: a multiple of 32 (zero-padded).
constexpr int64_t PairColumns(int64_t cols) { return (cols + 31) / 32 * 32; }

// Reorders x[0..cols) into out [PairColumns(cols)] (Bf16PairsApply only).
void PairBf16Row(const float* x, int64_t cols, float* out);

// y[t * ldy + (r - r0)] = sum_c W[r, c] * x_t[c] for bf16 weights, xp[t] token t's pair-ordered row.
void ProjectRowsBf16Pairs(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* xp, int64_t n, float* y,
                          int64_t ldy);

// Per-thread buffers of ProjectRows, reused between calls.
struct ProjectionScratch {
  std::vector<float> tile;     // decoded weight tile
  std::vector<float> partial;  // per (token, tile row) 8-lane partial sums
  std::vector<float> tail;     // per (token, tile row) sums over columns past the last multiple of 8
  std::vector<const float*> columns;  // per token: its activations at the tile's first column
  std::vector<int32_t> lane_sums;     // integer path: per token, what the stored weights' offset adds per int32 lane
};

// Rows a caller's row range should be a multiple of (except at the matrix end) for full tiles.
constexpr int64_t kProjectionRowQuantum = 12;

// Tokens per expert up to which float/bf16/FP8 weights are decoded in registers as they stream (each weight read
// once, no tile); above it a tile is decoded once and reused by every token.
constexpr int64_t kDirectMaxTokens = 4;

// Tokens up to which DenseProjection quantizes its activations for the integer path (its own choice; the row
// projection takes the integer path for any number of tokens that come with quantized activations, and MoeExperts
// always brings them: each weight block is then read once per four tokens, the dot products run on bytes).
constexpr int64_t kIntegerMaxTokens = 8;

// y[t * ldy + (r - r0)] = sum_c W[r, c] * x[t][c] for r in [r0, r1), t < n. xq: the tokens' quantized activations
// (QuantizeRow) for int8/int4 weights where IntegerPathApplies, else may be null; given, any n takes the integer path
// (unless a token's activations are not finite).
void ProjectRows(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* x, const QuantizedRow* xq,
                 int64_t n, float* y, int64_t ldy, ProjectionScratch& scratch);

}  // namespace glm_ops::cpu
