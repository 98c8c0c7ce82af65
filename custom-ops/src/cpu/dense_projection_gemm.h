// The many-token (prefill) path of DenseProjection: weights decoded from their stored width to float32 a chunk of
// columns at a time and reused from L1 by every token, through one of two register-blocked micro-kernels per
// instruction set (cpu/dense_gemm_kernels.h), which give the same bits:
//  - row tiles, below kDenseGemmPanelMinTokens: work items of 24 weight rows decoded 128 columns at a time in their
//    stored row order, each weight broadcast against vectors of 16 tokens (8 on AVX2) of the pass's activations,
//    laid out column by column once; each (token, row) sum kept in the item's scratch between chunks;
//  - panels, from kDenseGemmPanelMinTokens (cpu/dense_gemm_panels.h): 16-row panels transposed once per pass so
//    that 12 tokens share each weight vector; the transpose only pays for itself over many tokens.
// Measured, two threads, bf16 (GLM-5.2's 6144 -> 2048 and 6144 -> 12288, the small preset's 1024 -> 2816; GFLOP/s
// row tiles / panels): 48 tokens 167 / 168, 192 / 182, 153 / 133; 64 tokens 195 / 182, 224 / 182, 200 / 170; 96
// tokens 204 / 211, 228 / 207, 209 / 195; 128 tokens 184 / 233, 219 / 231, 201 / 200.
#pragma once

#include "common/dense_projection_validation.h"
#include "cpu/parallel.h"

namespace glm_ops::cpu {

// Whether the row decoder reads this weight format (formats it does not know fall back to the row projection).
bool DenseGemmDecodes(ExpertWeightFormat format);

// Tokens from which the GEMM runs on packed panels instead of row tiles.
constexpr int64_t kDenseGemmPanelMinTokens = 128;

// Tokens per pass of the row tiles over the weights for `in` input columns: at most kDenseGemmMaxPassTokens, and the
// pass's activations, laid out column by column, within 8 MiB (whole 32-token tiles, at least one). Each pass
// decodes the weights again.
constexpr int64_t kDenseGemmMaxPassTokens = 192;
int64_t DenseGemmPassTokens(int64_t in);

// Expects a validated shape with groups == 1 and a format DenseGemmDecodes; output is [tokens, out].
void DenseProjectionGemm(const Parallel& parallel, const DenseProjectionShape& shape, const float* input,
                         const DenseWeight& weight, float* output);

// The two kernels alone, for any token count (the tests check both on the same cases).
void DenseGemmRowTiles(const Parallel& parallel, const DenseProjectionShape& shape, const float* input,
                       const DenseWeight& weight, float* output);

}  // namespace glm_ops::cpu
