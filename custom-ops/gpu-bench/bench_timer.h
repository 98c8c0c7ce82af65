// CUDA-event timing for the benchmark: the median of per-call times (each call between its own pair of events,
// so host-side launch work shows when the GPU would idle) and the mean of back-to-back calls (the GPU-bound rate).
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <functional>
#include <vector>

#include "cuda/cuda_check.h"

namespace glm_ops::gpu {

struct Timing {
  double median_us = 0;
  double pipelined_us = 0;
};

inline Timing TimeCalls(const std::function<void()>& call, int iterations, int warmup = 3) {
  for (int i = 0; i < warmup; ++i) call();
  GLM_CUDA_CHECK(cudaDeviceSynchronize());
  cudaEvent_t start, stop;
  GLM_CUDA_CHECK(cudaEventCreate(&start));
  GLM_CUDA_CHECK(cudaEventCreate(&stop));
  std::vector<double> times;
  for (int i = 0; i < iterations; ++i) {
    GLM_CUDA_CHECK(cudaEventRecord(start, nullptr));
    call();
    GLM_CUDA_CHECK(cudaEventRecord(stop, nullptr));
    GLM_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    GLM_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    times.push_back(ms * 1000.0);
  }
  std::sort(times.begin(), times.end());
  Timing t;
  t.median_us = times[times.size() / 2];
  GLM_CUDA_CHECK(cudaEventRecord(start, nullptr));
  for (int i = 0; i < iterations; ++i) call();
  GLM_CUDA_CHECK(cudaEventRecord(stop, nullptr));
  GLM_CUDA_CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  GLM_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  t.pipelined_us = ms * 1000.0 / iterations;
  GLM_CUDA_CHECK(cudaEventDestroy(start));
  GLM_CUDA_CHECK(cudaEventDestroy(stop));
  return t;
}

}  // namespace glm_ops::gpu
