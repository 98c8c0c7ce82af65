#include "cpu/parallel.h"

#include <algorithm>

namespace glm_ops::cpu {

int64_t PieceSize(int64_t count, int threads, int64_t min_grain) {
  return std::max<int64_t>(std::max<int64_t>(1, min_grain), count / (4 * std::max(1, threads)));
}

}  // namespace glm_ops::cpu
