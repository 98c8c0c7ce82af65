// Block-wide helpers for the radix selects: an exclusive prefix sum over the threads of a block and the search for
// the histogram bin that holds the k-th largest element.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace glm_ops::cuda {

// Exclusive prefix sum of `value` over the block's threads (thread order); `total` receives the block sum.
// `scratch` holds at least 33 uint32. Every thread of the block must call it.
__device__ __forceinline__ uint32_t BlockExclusiveSum(uint32_t value, uint32_t* scratch, uint32_t* total) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  uint32_t inclusive = value;
  for (int o = 1; o < 32; o <<= 1) {
    const uint32_t up = __shfl_up_sync(0xFFFFFFFFu, inclusive, o);
    if (lane >= o) inclusive += up;
  }
  if (lane == 31) scratch[warp] = inclusive;
  __syncthreads();
  if (warp == 0) {
    uint32_t w = lane < warps ? scratch[lane] : 0;
    for (int o = 1; o < 32; o <<= 1) {
      const uint32_t up = __shfl_up_sync(0xFFFFFFFFu, w, o);
      if (lane >= o) w += up;
    }
    scratch[lane] = w;  // inclusive over warps
    if (lane == 31) scratch[32] = w;
  }
  __syncthreads();
  const uint32_t before_warp = warp == 0 ? 0 : scratch[warp - 1];
  *total = scratch[32];
  __syncthreads();  // scratch may be reused right after
  return before_warp + inclusive - value;
}

// Given a histogram of `bins` digit counts, finds the digit holding the `need`-th largest element (1-based, counting
// from the highest digit): *digit and *above (elements in higher digits, < need). Every thread must call it; the
// results are valid in every thread afterwards. `scratch` holds at least 35 uint32.
__device__ __forceinline__ void FindBoundaryDigit(const uint32_t* hist, int bins, uint32_t need, uint32_t* scratch,
                                                  uint32_t* digit, uint32_t* above) {
  const int per = (bins + blockDim.x - 1) / blockDim.x;
  const int first = threadIdx.x * per;  // descending position: bin = bins - 1 - position
  uint32_t local = 0;
  for (int j = 0; j < per; ++j)
    if (first + j < bins) local += hist[bins - 1 - (first + j)];
  uint32_t total;
  uint32_t running = BlockExclusiveSum(local, scratch, &total);
  for (int j = 0; j < per; ++j) {
    if (first + j >= bins) break;
    const int bin = bins - 1 - (first + j);
    const uint32_t h = hist[bin];
    if (running < need && running + h >= need) {
      scratch[33] = static_cast<uint32_t>(bin);
      scratch[34] = running;
    }
    running += h;
  }
  __syncthreads();
  *digit = scratch[33];
  *above = scratch[34];
  __syncthreads();
}

}  // namespace glm_ops::cuda
