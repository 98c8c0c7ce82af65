// CPU kernel of DenseProjection: output[T, out] = input[T, in] . W^T with W read at its stored width (float32, bf16,
// block-FP8, int8 or int4), never expanded in memory. Fewer than 64 tokens (decode, short prompts, speculative
// verification) stream the weights through MoeExperts' row projection (cpu/expert_projection.h), split by output rows
// across the pool; more go through a blocked micro-kernel that reuses each decoded weight panel for every token
// (cpu/dense_projection_gemm.h). int8/int4 weights at up to 8 tokens take the row projection's integer dot-product
// path (activations quantized to int8 per 32 columns, as MoeExperts); every other case multiplies exactly in float32.
#pragma once

#include <cstdint>

#include "common/dense_projection_validation.h"
#include "cpu/parallel.h"

namespace glm_ops::cpu {

// Tokens from which the blocked GEMM runs; below, the row projection (all tokens in one pass up to 32, else in
// equal chunks of at most 32). Measured, one thread, 6144 -> 2048 bf16 (ms per call, GEMM / rows): 12 tokens 10.3 /
// 9.2, 33 tokens 19.4 / 16.5, 64 tokens 30.0 / 30.9, 128 tokens 50.4 / 54.3, 512 tokens 182 / 283: the GEMM's
// panel packing (decode + transpose) only pays for itself over enough tokens.
constexpr int64_t kDenseGemmMinTokens = 64;

// Expects a validated shape; output is [tokens, out].
void DenseProjection(const Parallel& parallel, const DenseProjectionShape& shape, const float* input,
                     const DenseWeight& weight, float* output);

// The row-projection path alone, for any token count (above 32 in equal chunks of at most 32 tokens, each chunk
// streaming the weights once). DenseProjection takes it below kDenseGemmMinTokens, and above for weight formats the
// GEMM's panel packer does not decode; the tests call it directly so that both paths are checked at every count.
void DenseProjectionByRows(const Parallel& parallel, const DenseProjectionShape& shape, const float* input,
                           const DenseWeight& weight, float* output);

}  // namespace glm_ops::cpu
