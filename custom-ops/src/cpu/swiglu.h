// The SwiGLU activation SiLU(gate) * up, for DenseProjection's input_activation "swiglu" (the down projection of a
// dense MLP, or of a shared expert kept apart from MoeExperts, reading its gate / up projection's output directly,
// without Split, Sigmoid and Mul nodes between them) and for MoeExperts' experts (their gate and up outputs as two
// matrices). The vectorized exp clamps its argument (exp(-g) finite for g >= -88.4), so a gate of -inf gives -inf * up
// where g / (1 + exp(-g)) in IEEE arithmetic gives NaN.
#pragma once

#include <cstdint>

#include "cpu/parallel.h"

namespace glm_ops::cpu {

// out[i] = g / (1 + exp(-g)) * up[i] with g = gate[i], i < width: 8 lanes at a time with a vectorized exp (~1 ulp),
// the last width % 8 elements with std::exp. out may be gate or up.
void SwiGlu(const float* gate, const float* up, int64_t width, float* out);

// out[t, i] = g / (1 + exp(-g)) * u with g = gate_up[t, i], u = gate_up[t, width + i]: rows [tokens, 2 * width] in,
// [tokens, width] out. Vectorized exp (~1 ulp); rows split across the pool only when there are enough of them to pay
// for a parallel section (decode runs on the calling thread).
void SwiGluRows(const Parallel& parallel, const float* gate_up, int64_t tokens, int64_t width, float* out);

}  // namespace glm_ops::cpu
