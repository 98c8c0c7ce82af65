// Writes the new tokens' rows into a paged pool in place: row = [a (width_a), b (width_b)] for every packed token,
// at the pool row of its absolute position. Used by the indexer (keys only) and sparse MLA (latent + rope).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "cuda/activation.h"
#include "cuda/device_batch.h"

namespace glm_ops::cuda {

void WritePagedRows(Activation type, const DeviceBatch& batch, const void* a, int64_t width_a, const void* b,
                    int64_t width_b, void* pool, cudaStream_t stream);

}  // namespace glm_ops::cuda
