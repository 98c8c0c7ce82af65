// The many-token (prefill) path of DenseProjection: output panels of 16 weight rows, each decoded from its stored
// width 256 columns at a time into an L1-resident packed panel that every token then reuses through a register-blocked
// fp32 micro-kernel per instruction set (cpu/dense_gemm_kernels.h: 6 tokens x 16 rows on AVX2, 12 x 16 on AVX-512).
#pragma once

#include "common/dense_projection_validation.h"
#include "cpu/parallel.h"

namespace glm_ops::cpu {

// Whether the panel packer decodes this weight format (formats it does not know fall back to the row projection).
bool DenseGemmDecodes(ExpertWeightFormat format);

// Tokens per pass over the weights for `in` input columns and a micro-kernel block of `block` tokens: the pass's
// activations, transposed once per pass, stay within 8 MiB (at least one block). Each pass decodes the weights again.
int64_t DenseGemmPassTokens(int64_t in, int64_t block);

void DenseProjectionGemm(const Parallel& parallel, const DenseProjectionShape& shape, const float* input,
                         const DenseWeight& weight, float* output);

}  // namespace glm_ops::cpu
