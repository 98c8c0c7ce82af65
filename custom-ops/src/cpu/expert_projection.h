// One expert weight matrix times a few routed tokens: y = W[r0:r1, :] . x_t, weights decoded on the fly from their
// stored format (float32, bf16 or block FP8), never expanded in memory. Internal to the MoeExperts kernel.
#pragma once

#include <cstdint>
#include <vector>

#include "common/moe_experts_validation.h"

namespace glm_ops::cpu {

// One expert's [rows, cols] matrix in its stored format.
struct WeightMatrix {
  ExpertWeightFormat format;
  const void* data;
  const float* scales;  // FP8 only: [ceil(rows/qb), ceil(cols/qb)]
  int64_t rows, cols, quant_block, scale_cols;

  // Expert `expert` of a stacked [E, rows, cols] tensor (and its stacked scales, null unless FP8).
  static WeightMatrix Of(const MoeExpertsShape& shape, const void* stacked, const float* stacked_scales,
                         int64_t expert, int64_t rows, int64_t cols);
};

// Per-thread buffers of ProjectRows, reused between calls.
struct ProjectionScratch {
  std::vector<float> tile;     // decoded weight tile
  std::vector<float> partial;  // per (token, tile row) 8-lane partial sums
  std::vector<float> tail;     // per (token, tile row) sums over columns past the last multiple of 8
  std::vector<const float*> columns;  // per token: its activations at the tile's first column
};

// Rows a caller's row range should be a multiple of (except at the matrix end) for full tiles.
constexpr int64_t kProjectionRowQuantum = 12;

// Tokens per expert up to which the weights are decoded in registers as they stream (each weight read once, no
// tile); above it a tile is decoded once and reused by every token.
constexpr int64_t kDirectMaxTokens = 4;

// y[t * ldy + (r - r0)] = sum_c W[r, c] * x[t][c] for r in [r0, r1), t < n.
void ProjectRows(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* x, int64_t n, float* y,
                 int64_t ldy, ProjectionScratch& scratch);

}  // namespace glm_ops::cpu
