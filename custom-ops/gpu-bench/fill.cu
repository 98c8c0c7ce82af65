#include <cuda_bf16.h>

#include "cuda/cuda_check.h"
#include "fill.h"

namespace glm_ops::gpu {

namespace {

__device__ __forceinline__ uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

__device__ __forceinline__ float Uniform(uint64_t seed, size_t i, float lo, float hi) {
  const uint64_t z = Mix(seed * 0x9E3779B97F4A7C15ull + i);
  return lo + (hi - lo) * static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
}

__global__ void FillF32Kernel(float* data, size_t count, uint64_t seed, float lo, float hi) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < count; i += size_t{gridDim.x} * blockDim.x)
    data[i] = Uniform(seed, i, lo, hi);
}

__global__ void FillBf16Kernel(__nv_bfloat16* data, size_t count, uint64_t seed, float lo, float hi) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < count; i += size_t{gridDim.x} * blockDim.x)
    data[i] = __float2bfloat16_rn(Uniform(seed, i, lo, hi));
}

__global__ void FillE4M3Kernel(uint8_t* data, size_t count, uint64_t seed) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < count; i += size_t{gridDim.x} * blockDim.x) {
    uint8_t b = static_cast<uint8_t>(Mix(seed + i) >> 56);
    if ((b & 0x7F) == 0x7F) b ^= 1;
    data[i] = b;
  }
}

constexpr unsigned kBlocks = 4096, kThreads = 256;

}  // namespace

void FillUniformF32(float* data, size_t count, uint64_t seed, float lo, float hi, cudaStream_t stream) {
  FillF32Kernel<<<kBlocks, kThreads, 0, stream>>>(data, count, seed, lo, hi);
  GLM_CUDA_CHECK_LAUNCH();
}

void FillUniformBf16(void* data, size_t count, uint64_t seed, float lo, float hi, cudaStream_t stream) {
  FillBf16Kernel<<<kBlocks, kThreads, 0, stream>>>(static_cast<__nv_bfloat16*>(data), count, seed, lo, hi);
  GLM_CUDA_CHECK_LAUNCH();
}

void FillE4M3(uint8_t* data, size_t count, uint64_t seed, cudaStream_t stream) {
  FillE4M3Kernel<<<kBlocks, kThreads, 0, stream>>>(data, count, seed);
  GLM_CUDA_CHECK_LAUNCH();
}

}  // namespace glm_ops::gpu
