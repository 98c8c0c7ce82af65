// Top-k selection over a score array, the one tie rule every op uses: higher score first, then lower index.
#pragma once

#include <cstdint>
#include <vector>

namespace glm_ops::cpu {

// Writes the indices of the k largest of scores[0..count) into out[0..k), by descending score (ties: lower index
// first). Requires k <= count. `scratch` is reused between calls to avoid allocations.
void SelectTopK(const float* scores, int64_t count, int64_t k, int32_t* out, std::vector<uint64_t>& scratch);

}  // namespace glm_ops::cpu
