#include "cpu/expert_projection.h"

#include <algorithm>

#include "cpu/dense_projection_int_kernels.h"
#include "cpu/dense_projection_kernels.h"
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

bool IntegerPathApplies(ExpertWeightFormat format, int64_t quant_block) {
  const bool int4 = format == ExpertWeightFormat::kInt4;
  return (int4 || format == ExpertWeightFormat::kInt8) && ActiveDenseIntKernels().supports(int4, quant_block);
}

QuantizedLayout QuantizedRowLayout(ExpertWeightFormat format, int64_t cols) {
  const DenseIntKernels& k = ActiveDenseIntKernels();
  const int64_t step = format == ExpertWeightFormat::kInt4 ? k.int4_step : k.int8_step;
  const int64_t steps = (cols + step - 1) / step;
  return {steps * step, steps * k.lanes};
}

void QuantizedRows::Reset(ExpertWeightFormat format, int64_t count, int64_t cols) {
  int4_ = format == ExpertWeightFormat::kInt4;
  cols_ = cols;
  layout_ = QuantizedRowLayout(format, cols);
  q_.resize(static_cast<size_t>(count * layout_.q_stride));
  bias_.resize(static_cast<size_t>(count * layout_.lane_stride));
  scales_.resize(bias_.size());
  rows_.resize(static_cast<size_t>(count));
}

void QuantizedRows::Quantize(int64_t i, const float* x) {
  int8_t* q = q_.data() + i * layout_.q_stride;
  int32_t* bias = bias_.data() + i * layout_.lane_stride;
  float* scales = scales_.data() + i * layout_.lane_stride;
  rows_[i] = {q, bias, scales, ActiveDenseIntKernels().quantize(int4_, x, cols_, q, bias, scales)};
}

bool Bf16PairsApply(ExpertWeightFormat format) {
  return format == ExpertWeightFormat::kBFloat16 && ActiveExpertKernels().project_bf16_pairs != nullptr;
}

void PairBf16Row(const float* x, int64_t cols, float* out) { ActiveExpertKernels().pair_bf16(x, cols, out); }

void PairedRows::Reset(int64_t count, int64_t cols) {
  cols_ = cols;
  const int64_t stride = PairColumns(cols);
  values_.resize(static_cast<size_t>(count * stride));
  rows_.resize(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) rows_[i] = values_.data() + i * stride;
}

void ProjectRowsBf16Pairs(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* xp, int64_t n, float* y,
                          int64_t ldy, const NextRows& next) {
  ActiveExpertKernels().project_bf16_pairs(w, r0, r1, xp, n, y, ldy, next);
}

namespace {

// Rows xq[0..n) as the kernels' IntTokens: in place where they lie at a constant stride (one token, or rows
// quantized in order), else copied side by side into the scratch.
IntTokens TokensOf(const QuantizedRow* xq, int64_t n, const QuantizedLayout& layout, ProjectionScratch& scratch) {
  bool strided = true;
  for (int64_t t = 1; t < n && strided; ++t)
    strided = xq[t].q == xq[0].q + t * layout.q_stride && xq[t].bias == xq[0].bias + t * layout.lane_stride &&
              xq[t].scales == xq[0].scales + t * layout.lane_stride;
  if (strided) return {xq[0].q, xq[0].bias, xq[0].scales, layout.q_stride, layout.lane_stride};
  scratch.gathered_q.resize(static_cast<size_t>(n * layout.q_stride));
  scratch.gathered_bias.resize(static_cast<size_t>(n * layout.lane_stride));
  scratch.gathered_scales.resize(scratch.gathered_bias.size());
  for (int64_t t = 0; t < n; ++t) {
    std::copy_n(xq[t].q, layout.q_stride, scratch.gathered_q.data() + t * layout.q_stride);
    std::copy_n(xq[t].bias, layout.lane_stride, scratch.gathered_bias.data() + t * layout.lane_stride);
    std::copy_n(xq[t].scales, layout.lane_stride, scratch.gathered_scales.data() + t * layout.lane_stride);
  }
  return {scratch.gathered_q.data(), scratch.gathered_bias.data(), scratch.gathered_scales.data(), layout.q_stride,
          layout.lane_stride};
}

// The integer path: NextTokenBlock's blocks through DenseProjection's one-token kernels.
static_assert(kDenseIntMaxTokens == 4, "NextTokenBlock makes blocks of up to four tokens");
void ProjectInteger(const WeightMatrix& w, int64_t r0, int64_t r1, const QuantizedRow* xq, int64_t n, float* y,
                    int64_t ldy, ProjectionScratch& scratch) {
  const DenseIntKernels& k = ActiveDenseIntKernels();
  const IntWeight weight{static_cast<const uint8_t*>(w.data), static_cast<const uint16_t*>(w.scales), w.rows, w.cols,
                         w.row_bytes, w.scale_cols, w.quant_block, w.format == ExpertWeightFormat::kInt4};
  const QuantizedLayout layout = QuantizedRowLayout(w.format, w.cols);
  for (int64_t t0 = 0, size; t0 < n; t0 += size) {
    size = NextTokenBlock(n - t0);
    k.gemv(weight, r0, r1, TokensOf(xq + t0, size, layout, scratch), size, y + t0 * ldy, ldy);
  }
}

}  // namespace

void ProjectRows(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* x, const QuantizedRow* xq,
                 int64_t n, float* y, int64_t ldy, ProjectionScratch& scratch) {
  const ExpertKernels& k = ActiveExpertKernels();
  const bool integer = w.format == ExpertWeightFormat::kInt8 || w.format == ExpertWeightFormat::kInt4;
  if (integer && xq && IntegerPathApplies(w.format, w.quant_block)) {
    bool finite = true;
    for (int64_t t = 0; t < n; ++t) finite = finite && xq[t].finite;
    if (finite) return ProjectInteger(w, r0, r1, xq, n, y, ldy, scratch);
  }
  const auto gemv_fp8 = ActiveDenseKernels().gemv_fp8;
  if (n <= kDirectMaxTokens && w.format == ExpertWeightFormat::kFloat8E4M3 && gemv_fp8)
    return gemv_fp8(static_cast<const uint8_t*>(w.data), static_cast<const float*>(w.scales), w.rows, w.cols,
                    w.quant_block, r0, r1, x, n, y, ldy);
  if (!integer && n <= kDirectMaxTokens) return k.project_direct(w, r0, r1, x, n, y, ldy);
  scratch.tile.resize(static_cast<size_t>(kTileRows * kTileCols));
  scratch.partial.resize(static_cast<size_t>(n * kTileRows * 8));
  scratch.tail.resize(static_cast<size_t>(n * kTileRows));
  scratch.columns.resize(static_cast<size_t>(n));
  k.project_tiled(w, r0, r1, x, n, y, ldy,
                  {scratch.tile.data(), scratch.partial.data(), scratch.tail.data(), scratch.columns.data()});
}

}  // namespace glm_ops::cpu
