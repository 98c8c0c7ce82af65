// The SwiGLU activation SiLU(gate) * up, for DenseProjection's input_activation "swiglu" (the down projection of a
// dense MLP or shared expert reading its gate / up projection's output directly, without Split, Sigmoid and Mul
// nodes between them).
#pragma once

#include <cstdint>

#include "cpu/parallel.h"

namespace glm_ops::cpu {

// out[t, i] = g / (1 + exp(-g)) * u with g = gate_up[t, i], u = gate_up[t, width + i]: rows [tokens, 2 * width] in,
// [tokens, width] out. Vectorized exp (~1 ulp); rows split across the pool only when there are enough of them to pay
// for a parallel section (decode runs on the calling thread).
void SwiGluRows(const Parallel& parallel, const float* gate_up, int64_t tokens, int64_t width, float* out);

}  // namespace glm_ops::cpu
