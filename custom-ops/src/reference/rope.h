// Reference rotation for the ops' rope tables (common/rope_tables.h): each pair in double, rounded to float.
#pragma once

#include <cstdint>
#include <vector>

#include "common/rope_tables.h"

namespace glm_ops::reference {

// x [T, heads, head_dim]: pairs (2i, 2i + 1), i < rotary_dim / 2, of every head of token t rotated by row t of the
// tables; the rest copied.
std::vector<float> Rotated(const float* x, int64_t tokens, int64_t heads, int64_t head_dim, int64_t rotary_dim,
                           const RopeTables& tables);

}  // namespace glm_ops::reference
