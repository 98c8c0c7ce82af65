// Interleaved rotary embedding for the ops that take rope tables (common/rope_tables.h): the rotation the graph's
// com.microsoft.RotaryEmbedding (interleaved) node used to apply before them.
#pragma once

#include <cstdint>
#include <vector>

#include "common/rope_tables.h"

namespace glm_ops::cpu {

// x [T, heads, head_dim] with each head's pairs (2i, 2i + 1), i < rotary_dim / 2, rotated by token t's angle i:
// (a, b) -> (a cos - b sin, b cos + a sin) with cos / sin = tables' row t, column i, in float32; the other dims copied.
std::vector<float> RotatedCopy(const float* x, int64_t tokens, int64_t heads, int64_t head_dim, int64_t rotary_dim,
                               const RopeTables& tables);

}  // namespace glm_ops::cpu
