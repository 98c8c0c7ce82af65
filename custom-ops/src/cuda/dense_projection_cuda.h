// CUDA kernel of DenseProjection (docs/onnx-contract.md, docs/cuda.md): output[T, out] = input[T, in] . W^T
// (+ addend) with float32 / bf16 / block-FP8 / int8 / int4 weights decoded in registers as they stream, one warp per
// output row and up to 8 tokens per pass over the row.
#pragma once

#include <cuda_runtime_api.h>

#include "common/dense_projection_validation.h"

namespace glm_ops::cuda {

// input [T, groups * in] and output [T, out] float32, device memory; weight (and FP8 scales) device pointers. Group g
// of output rows [g * out / groups, (g + 1) * out / groups) reads input columns [g * in, (g + 1) * in). `input` is
// the projected rows: shape.swiglu and shape.addend are ignored here (the whole node, activation included, is
// cuda/dense_projection_node_cuda.h). addend [T, out] float32 device memory or null: output = input . W^T + addend,
// added as each output is stored (no extra pass over the output).
void DenseProjection(const DenseProjectionShape& shape, const float* input, const DenseWeight& weight,
                     const float* addend, float* output, cudaStream_t stream);

}  // namespace glm_ops::cuda
