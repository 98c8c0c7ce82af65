// CPU kernel of DenseProjection: output[T, out] = input[T, in] . W^T with W read at its stored width (float32, bf16
// or block-FP8), never expanded in memory. Few tokens (decode) stream the weights once through MoeExperts' row
// projection (cpu/expert_projection.h), split by output rows across the pool; many tokens (prefill) go through a
// blocked micro-kernel that reuses each decoded weight panel for every token (cpu/dense_projection_gemm.h).
#pragma once

#include <cstdint>

#include "common/dense_projection_validation.h"
#include "cpu/parallel.h"

namespace glm_ops::cpu {

// Tokens up to which the weights are streamed once through the row projection; above it, the blocked GEMM.
constexpr int64_t kDenseDecodeMaxTokens = 8;

// Expects a validated shape; output is [tokens, out].
void DenseProjection(const Parallel& parallel, const DenseProjectionShape& shape, const float* input,
                     const DenseWeight& weight, float* output);

// The row-projection path alone, for any token count (above 8 in chunks of 32 tokens, each chunk streaming the
// weights once). DenseProjection takes it up to 8 tokens, and above for weight formats the GEMM's panel packer does
// not decode; the tests call it directly so that both paths are checked at every token count.
void DenseProjectionByRows(const Parallel& parallel, const DenseProjectionShape& shape, const float* input,
                           const DenseWeight& weight, float* output);

}  // namespace glm_ops::cpu
