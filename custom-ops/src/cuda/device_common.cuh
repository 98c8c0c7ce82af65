// Device helpers shared by the CUDA kernels: element loads to float (float32 / bfloat16), the paged-row lookup,
// warp reductions and the float -> sortable-integer key used by every top-k.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "cuda/device_batch.h"

namespace glm_ops::cuda {

__device__ __forceinline__ float ToFloat(float v) { return v; }
__device__ __forceinline__ float ToFloat(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T>
__device__ __forceinline__ T FromFloat(float v);
template <>
__device__ __forceinline__ float FromFloat<float>(float v) { return v; }
template <>
__device__ __forceinline__ __nv_bfloat16 FromFloat<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// Four consecutive elements as float4. The pointer must be aligned to 4 elements.
__device__ __forceinline__ float4 Load4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ float4 Load4(const __nv_bfloat16* p) {
  const uint2 raw = *reinterpret_cast<const uint2*>(p);
  // bf16 is the top half of a float32: widening is a shift.
  return make_float4(__uint_as_float(raw.x << 16), __uint_as_float(raw.x & 0xFFFF0000u),
                     __uint_as_float(raw.y << 16), __uint_as_float(raw.y & 0xFFFF0000u));
}

__device__ __forceinline__ void Store4(float* p, float4 v) { *reinterpret_cast<float4*>(p) = v; }
__device__ __forceinline__ void Store4(__nv_bfloat16* p, float4 v) {
  __nv_bfloat162 lo = __floats2bfloat162_rn(v.x, v.y), hi = __floats2bfloat162_rn(v.z, v.w);
  uint2 raw;
  raw.x = *reinterpret_cast<uint32_t*>(&lo);
  raw.y = *reinterpret_cast<uint32_t*>(&hi);
  *reinterpret_cast<uint2*>(p) = raw;
}

// Pool row (block * block_size + offset) that holds position `pos` of sequence `seq`.
__device__ __forceinline__ int64_t PoolRow(const DeviceBatch& b, int seq, int64_t pos) {
  const int32_t block = b.block_table[static_cast<int64_t>(seq) * b.max_blocks + pos / b.block_size];
  return static_cast<int64_t>(block) * b.block_size + pos % b.block_size;
}

// Sequence of packed token `token`: the last b with cu[b] <= token (cu is non-decreasing; empty sequences skipped).
__device__ __forceinline__ int SequenceOf(const DeviceBatch& b, int token) {
  int lo = 0, hi = b.num_sequences - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (b.cu[mid] <= token) lo = mid; else hi = mid - 1;
  }
  return lo;
}

__device__ __forceinline__ float WarpSum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, o);
  return v;
}

__device__ __forceinline__ float WarpMax(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xFFFFFFFFu, v, o));
  return v;
}

// Maps a float to an unsigned key with the same order (negatives reversed, sign bit flipped), as the CPU top-k does.
__device__ __forceinline__ uint32_t OrderKey(float v) {
  const uint32_t bits = __float_as_uint(v);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

__host__ __device__ constexpr int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Element-wise kernels (one thread per element, grid-stride loops: rope.cu, swiglu.cu): their block size, and the
// grid for `total` elements, capped at 4096 blocks (1M elements a pass) so prefill-sized inputs loop instead.
constexpr int kElementwiseThreads = 256;
constexpr unsigned ElementwiseBlocks(int64_t total) {
  const int64_t blocks = CeilDiv(total, kElementwiseThreads);
  return static_cast<unsigned>(blocks < 4096 ? blocks : 4096);
}

}  // namespace glm_ops::cuda
