// Device side of DenseProjection's input_activation "swiglu" (docs/onnx-contract.md): SiLU(gate) * up of the
// node's [gate | up] rows, written to a workspace buffer that the unchanged projection kernel then reads. A separate
// elementwise pass rather than a prologue inside the projection: the projection re-reads every activation row once
// per output row (from L1/L2), so activating in its inner loop would repeat the exp `out` times per element.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "cuda/activation.h"

namespace glm_ops::cuda {

// gate_up [tokens, 2 * width] -> out [tokens, width], both of `type`, device memory:
// out[t, i] = g / (1 + exp(-g)) * gate_up[t, width + i] with g = gate_up[t, i], in float32 (expf, IEEE division) as
// cpu/swiglu.h computes it, rounded once to `type`.
void SwiGluRows(Activation type, const void* gate_up, int64_t tokens, int64_t width, void* out, cudaStream_t stream);

}  // namespace glm_ops::cuda
