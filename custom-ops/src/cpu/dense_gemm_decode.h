// Decoding DenseProjection's stored weight rows to float32 for its many-token GEMM (cpu/dense_projection_gemm.h): both
// of its drivers (the row tiles and the packed panels) decode a chunk of columns of one row at a time, exactly (FP8
// block scales and int8 / int4 group scales applied), bf16 through the active ISA's vector decoder.
#pragma once

#include "common/dense_projection_validation.h"
#include "cpu/dense_gemm_kernels.h"

namespace glm_ops::cpu {

// Columns [c0, c0 + count) of weight row r as float32 into dst. c0 must be a multiple of 8 (no 8-column vector then
// straddles an FP8 scale block or an int group, and an int4 segment starts on a whole byte).
void DecodeWeightRow(const DenseGemmKernels& kernels, const DenseProjectionShape& shape, const DenseWeight& weight,
                     int64_t r, int64_t c0, int64_t count, float* dst);

}  // namespace glm_ops::cpu
