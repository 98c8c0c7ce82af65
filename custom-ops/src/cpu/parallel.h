// How a CPU kernel runs its parallel loops. Inside a session the loops run on ONNX Runtime's intra-op thread pool,
// reached through the kernel context (src/ort/ort_parallel.h), so the ops share the session's threads instead of
// competing with them; tests, benchmarks and the GPU parity harness pass SpawnedThreads (src/cpu/spawned_threads.h).
// The kernels stay free of ONNX Runtime types.
#pragma once

#include <cstdint>
#include <functional>

namespace glm_ops::cpu {

class Parallel {
 public:
  using Range = std::function<void(int64_t begin, int64_t end)>;

  virtual ~Parallel() = default;

  // Threads a loop may use (>= 1), the calling thread included; kernels size their work items by it.
  virtual int Threads() const = 0;

  // Calls fn(begin, end) over disjoint ranges that cover [0, count), each at least `min_grain` long (the last may be
  // shorter), and returns when all are done. `fn` must not throw.
  virtual void For(int64_t count, const Range& fn, int64_t min_grain = 1) const = 0;
};

// The piece size the runners hand out: about count / (4 * threads) so that uneven items balance, at least min_grain.
int64_t PieceSize(int64_t count, int threads, int64_t min_grain);

}  // namespace glm_ops::cpu
