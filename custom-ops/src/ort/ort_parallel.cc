#include "ort/ort_parallel.h"

#include <algorithm>
#include <thread>

namespace glm_ops::ort {

namespace {

struct Job {
  const cpu::Parallel::Range* fn;
  int64_t count;
  int64_t piece;
};

void RunPiece(void* data, size_t index) {
  const Job& job = *static_cast<const Job*>(data);
  const int64_t begin = static_cast<int64_t>(index) * job.piece;
  (*job.fn)(begin, std::min(job.count, begin + job.piece));
}

}  // namespace

int OrtParallel::Threads() const {
  // The kernel context does not report the pool's size; the runtime sizes it one thread per core
  // (GlmModel.CreateSessionOptions), which is also what the kernels' work-item sizing wants to cover.
  static const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return threads;
}

void OrtParallel::For(int64_t count, const Range& fn, int64_t min_grain) const {
  if (count <= 0) return;
  const int64_t piece = cpu::PieceSize(count, Threads(), min_grain);
  const int64_t pieces = (count + piece - 1) / piece;
  if (pieces == 1) {
    fn(0, count);
    return;
  }
  Job job{&fn, count, piece};
  // num_batch 0: ORT hands the pieces out one at a time to whichever thread is free (the caller's included).
  context_.ParallelFor(&RunPiece, static_cast<size_t>(pieces), 0, &job);
}

}  // namespace glm_ops::ort
