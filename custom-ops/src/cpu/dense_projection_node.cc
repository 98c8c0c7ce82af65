#include "cpu/dense_projection_node.h"

#include <vector>

#include "cpu/dense_projection.h"
#include "cpu/swiglu.h"

namespace glm_ops::cpu {

void DenseProjectionNode(const Parallel& parallel, const DenseProjectionShape& shape, const float* input,
                         const DenseWeight& weight, const float* addend, float* output) {
  thread_local std::vector<float> activated;
  if (shape.swiglu) {
    activated.resize(static_cast<size_t>(shape.tokens * shape.in));
    SwiGluRows(parallel, input, shape.tokens, shape.in, activated.data());
    input = activated.data();
  }
  DenseProjection(parallel, shape, input, weight, output);
  if (shape.addend)
    for (int64_t i = 0, n = shape.tokens * shape.out; i < n; ++i) output[i] += addend[i];
}

}  // namespace glm_ops::cpu
