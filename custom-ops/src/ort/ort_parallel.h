// The CPU kernels' parallel loops on ONNX Runtime's intra-op thread pool (OrtApi::KernelContext_ParallelFor, since
// ORT 1.17): the ops share the session's threads (IntraOpNumThreads) with ORT's own kernels instead of running a
// second pool beside them. Measured against the library's former own pool in docs/benchmarks.md.
#pragma once

#include "cpu/parallel.h"
#include "ort/ort_api.h"

namespace glm_ops::ort {

class OrtParallel final : public cpu::Parallel {
 public:
  explicit OrtParallel(const Ort::KernelContext& context) : context_(context) {}
  int Threads() const override;
  void For(int64_t count, const Range& fn, int64_t min_grain = 1) const override;

 private:
  const Ort::KernelContext& context_;
};

}  // namespace glm_ops::ort
