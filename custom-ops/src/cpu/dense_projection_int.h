// DenseProjection's integer path: int8 / int4 weights (groups of 32, or of a multiple of the kernels' step) at every
// token count, through the byte dot-product kernels of cpu/dense_projection_int_kernels.h. The activations are
// quantized once per call (per token, per 32 columns). Below the table's gemm_min_tokens (16; int4 on AVX2 96) one
// pass of the pool splits the output rows in items, each item's rows read once per block of up to kDenseIntMaxTokens
// tokens (later blocks find them in L1/L2); from there the pool splits 16-row panels, each unpacked once and dotted
// with every token. No allocation per call at decode sizes: the quantized activations live in a buffer of
// the calling thread, kept between calls.
#pragma once

#include "common/dense_projection_validation.h"
#include "cpu/parallel.h"

namespace glm_ops::cpu {

// Whether DenseProjectionInt takes this call (one group, int8 / int4, a group size the active kernels take).
bool DenseIntApplies(const DenseProjectionShape& shape);

// Whether DenseProjectionInt runs this call on its many-token kernels (16-row panels, or AMX tiles): DenseIntApplies
// and at least the active table's gemm_min_tokens tokens.
bool DenseIntGemmTakes(const DenseProjectionShape& shape);

// Runs the call if every activation is finite and returns true; false (nothing written) when a token holds a NaN or
// an infinity, for the caller's exact path.
bool DenseProjectionInt(const Parallel& parallel, const DenseProjectionShape& shape, const float* input,
                        const DenseWeight& weight, float* output);

}  // namespace glm_ops::cpu
