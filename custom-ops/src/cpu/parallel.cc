#include "cpu/parallel.h"

#include <algorithm>

namespace glm_ops::cpu {

namespace {

class InlineParallel final : public Parallel {
 public:
  int Threads() const override { return 1; }
  void For(int64_t count, const Range& fn, int64_t) const override {
    if (count > 0) fn(0, count);
  }
};

}  // namespace

const Parallel& Inline() {
  static const InlineParallel instance;
  return instance;
}

int64_t PieceSize(int64_t count, int threads, int64_t min_grain) {
  return std::max<int64_t>(std::max<int64_t>(1, min_grain), count / (4 * std::max(1, threads)));
}

}  // namespace glm_ops::cpu
