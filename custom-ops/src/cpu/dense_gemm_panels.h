// DenseProjection's many-token GEMM from kDenseGemmPanelMinTokens tokens (cpu/dense_projection_gemm.h): output panels
// of 16 weight rows, each decoded from its stored width 256 columns at a time and transposed into an L1-resident
// packed panel (one column's 16 rows per vector) that every token of the pass then reuses through the panel
// micro-kernel (cpu/dense_gemm_kernels.h: 12 tokens x 16 rows on AVX-512, 6 x 16 on AVX2), groups of 8 panels
// sharing each sweep over the tokens' activations, which are transposed once per pass (column-major per token block).
// The packing costs a transpose per weight, which only many tokens repay; fewer take the row tiles.
#pragma once

#include "common/dense_projection_validation.h"
#include "cpu/parallel.h"

namespace glm_ops::cpu {

// Tokens per pass over the weights for `in` input columns and a micro-kernel block of `block` tokens: the pass's
// activations, transposed once per pass, stay within 8 MiB (at least one block). Each pass decodes the weights again.
int64_t DenseGemmPanelPassTokens(int64_t in, int64_t block);

// Expects a validated shape with groups == 1 and a format DenseGemmDecodes (cpu/dense_projection_gemm.h).
void DenseGemmPanels(const Parallel& parallel, const DenseProjectionShape& shape, const float* input,
                     const DenseWeight& weight, float* output);

}  // namespace glm_ops::cpu
