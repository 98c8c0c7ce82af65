#include "cpu/expert_projection.h"

#include "cpu/expert_kernels.h"
#include "cpu/isa_dispatch.h"

namespace glm_ops::cpu {

WeightMatrix WeightMatrix::Of(const MoeExpertsShape& s, const void* stacked, const void* stacked_scales,
                              int64_t expert, int64_t rows, int64_t cols) {
  const int64_t qb = s.quant_block_size;
  const int64_t scale_cols = (cols + qb - 1) / qb;
  const int64_t row_bytes = ExpertRowBytes(s.format, cols);
  const void* scales = nullptr;
  if (stacked_scales) {
    if (s.format == ExpertWeightFormat::kFloat8E4M3)
      scales = static_cast<const float*>(stacked_scales) + expert * ((rows + qb - 1) / qb) * scale_cols;
    else
      scales = static_cast<const uint16_t*>(stacked_scales) + expert * rows * scale_cols;
  }
  return WeightMatrix{s.format, static_cast<const uint8_t*>(stacked) + expert * rows * row_bytes, scales, rows, cols,
                      qb, scale_cols, row_bytes};
}

QuantizedRow QuantizeRow(ExpertWeightFormat format, const float* x, int64_t cols, int8_t* q, float* scales) {
  QuantizedRow row{q, scales, true};
  row.finite = ActiveExpertKernels().quantize_row(format == ExpertWeightFormat::kInt4, x, cols, q, scales);
  return row;
}

bool Bf16PairsApply(ExpertWeightFormat format) {
  return format == ExpertWeightFormat::kBFloat16 && ActiveExpertKernels().project_bf16_pairs != nullptr;
}

void PairBf16Row(const float* x, int64_t cols, float* out) { ActiveExpertKernels().pair_bf16(x, cols, out); }

void ProjectRowsBf16Pairs(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* xp, int64_t n, float* y,
                          int64_t ldy) {
  ActiveExpertKernels().project_bf16_pairs(w, r0, r1, xp, n, y, ldy);
}

void ProjectRows(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* x, const QuantizedRow* xq,
                 int64_t n, float* y, int64_t ldy, ProjectionScratch& scratch) {
  const ExpertKernels& k = ActiveExpertKernels();
  const bool integer = w.format == ExpertWeightFormat::kInt8 || w.format == ExpertWeightFormat::kInt4;
  if (integer && xq && IntegerPathApplies(w.format, w.quant_block)) {
    bool finite = true;
    for (int64_t t = 0; t < n; ++t) finite = finite && xq[t].finite;
    if (finite) {
      scratch.lane_sums.resize(static_cast<size_t>(n * QuantizedColumns(w.cols) / 4));  // int8's 4 columns a lane
      return k.project_integer(w, r0, r1, xq, n, y, ldy, scratch.lane_sums.data());
    }
  }
  if (!integer && n <= kDirectMaxTokens) return k.project_direct(w, r0, r1, x, n, y, ldy);
  scratch.tile.resize(static_cast<size_t>(kTileRows * kTileCols));
  scratch.partial.resize(static_cast<size_t>(n * kTileRows * 8));
  scratch.tail.resize(static_cast<size_t>(n * kTileRows));
  scratch.columns.resize(static_cast<size_t>(n));
  k.project_tiled(w, r0, r1, x, n, y, ldy,
                  {scratch.tile.data(), scratch.partial.data(), scratch.tail.data(), scratch.columns.data()});
}

}  // namespace glm_ops::cpu
