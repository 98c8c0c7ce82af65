// A Parallel for code that runs the kernels outside ONNX Runtime (tests, benchmarks, the GPU parity harness): each
// loop starts its own threads and joins them before returning, so nothing outlives the call. Starting threads costs
// tens of microseconds per loop, which is why the library itself runs on ONNX Runtime's pool instead.
#pragma once

#include "cpu/parallel.h"

namespace glm_ops::cpu {

class SpawnedThreads final : public Parallel {
 public:
  // threads <= 0: hardware_concurrency() (or GLM_OPS_THREADS when set).
  explicit SpawnedThreads(int threads = 0);
  int Threads() const override { return threads_; }
  void For(int64_t count, const Range& fn, int64_t min_grain = 1) const override;

 private:
  int threads_;
};

}  // namespace glm_ops::cpu
