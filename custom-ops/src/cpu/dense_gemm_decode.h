// The operand layouts both drivers of DenseProjection's many-token GEMM (cpu/dense_projection_gemm.h: the row tiles
// and the packed panels) build: weight rows decoded to float32 a chunk of columns at a time, exactly (FP8 block
// scales and int8 / int4 group scales applied; bf16 through the active ISA's vector decoder), and a block of tokens'
// activations laid out column by column.
#pragma once

#include "common/dense_projection_validation.h"
#include "cpu/dense_gemm_kernels.h"

namespace glm_ops::cpu {

// Columns [c0, c0 + count) of weight row r as float32 into dst. c0 must be a multiple of 8 (no 8-column vector then
// straddles an FP8 scale block or an int group, and an int4 segment starts on a whole byte).
// With `bf16_pairs`, bf16 rows come out in decode_bf16_pairs' order instead (cpu/dense_gemm_kernels.h; the row
// tiles read them so); other formats ignore it.
void DecodeWeightRow(const DenseGemmKernels& kernels, const DenseProjectionShape& shape, const DenseWeight& weight,
                     int64_t r, int64_t c0, int64_t count, float* dst, bool bf16_pairs = false);

// One token block's activations column-major: out[c * block + i] = x[i * in + c] for i < rows, 0 for rows <= i <
// block (padding tokens, whose sums are dropped). The micro-kernels then read one column's activations of every token
// of the block from one cache line: read from `block` rows `in` apart, the same loads ran at less than half the panel
// kernel's speed (measured, AVX-512, one thread, 16 x 256 panel in L1: 55-75 GFLOP/s strided, 131 column-major, the
// FMA peak).
void TransposeTokens(const float* x, int64_t in, int64_t rows, int64_t block, float* out);

}  // namespace glm_ops::cpu
