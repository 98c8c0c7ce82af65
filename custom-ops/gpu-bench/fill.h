// Device-side random fills for the benchmark (GBs of expert weights and caches are generated on the GPU, not copied).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace glm_ops::gpu {

void FillUniformF32(float* data, size_t count, uint64_t seed, float lo, float hi, cudaStream_t stream);
void FillUniformBf16(void* data, size_t count, uint64_t seed, float lo, float hi, cudaStream_t stream);
// Random e4m3 bytes, never NaN.
void FillE4M3(uint8_t* data, size_t count, uint64_t seed, cudaStream_t stream);

}  // namespace glm_ops::gpu
