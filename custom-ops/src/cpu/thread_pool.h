// A small process-wide worker pool for the CPU kernels. ONNX Runtime does not expose its intra-op pool to custom
// ops, so the kernels bring their own: hardware_concurrency() threads (or GLM_OPS_THREADS), the caller included.
#pragma once

#include <cstdint>
#include <functional>

#include "cpu/parallel.h"

namespace glm_ops::cpu {

// Threads a parallel region uses (>= 1), the calling thread included.
int ThreadCount();

// Calls fn(begin, end) over disjoint ranges that cover [0, count), on the pool's threads and the caller's, and
// returns when all are done. Ranges are handed out dynamically in pieces of about count / (4 * threads), at least
// `min_grain`. A call made while another region is running (a nested call, or a second session running at the same
// time) runs inline on its own thread instead of waiting. `fn` must not throw.
void ParallelFor(int64_t count, const std::function<void(int64_t begin, int64_t end)>& fn, int64_t min_grain = 1);

// The pool above as a Parallel.
const Parallel& OwnPool();

}  // namespace glm_ops::cpu
