// Device side of the attention ops' rope tables (common/rope_tables.h): with the tables, LightningIndexer and
// SparseMlaAttention receive their query and key unrotated and rotate them here, into workspace copies that the
// existing kernels then read (so the hot score loops and the pool writer stay unchanged).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/rope_tables.h"
#include "cuda/activation.h"

namespace glm_ops::cuda {

// q [T, heads, head_dim] -> q_out and k [T, head_dim] -> k_out (same layout and `type`), one launch for both: the
// pairs (2i, 2i + 1), i < rotary_dim / 2, of every head of token t become (a cos - b sin, b cos + a sin) with
// cos / sin = the tables' row t, column i (float32 device pointers, [T, rotary_dim / 2]); the other dims are copied.
// Computed in float32 (cpu/rope.h) and rounded once to `type`: for bfloat16 the values a bf16 rotary node in front
// of the op would have produced.
void RotateQueryAndKey(Activation type, const RopeTables& tables, int64_t tokens, int64_t heads, int64_t head_dim,
                       int64_t rotary_dim, const void* q, const void* k, void* q_out, void* k_out,
                       cudaStream_t stream);

}  // namespace glm_ops::cuda
