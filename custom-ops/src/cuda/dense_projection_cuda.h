// CUDA kernel of DenseProjection (docs/onnx-contract.md, docs/cuda.md): output[T, out] = input[T, in] . W^T with
// float32 / bf16 / block-FP8 weights decoded in registers as they stream, one warp per output row and up to 8 tokens
// per pass over the row.
#pragma once

#include <cuda_runtime_api.h>

#include "common/dense_projection_validation.h"

namespace glm_ops::cuda {

// input [T, groups * in] and output [T, out] float32, device memory; weight (and FP8 scales) device pointers. Group g
// of output rows [g * out / groups, (g + 1) * out / groups) reads input columns [g * in, (g + 1) * in).
void DenseProjection(const DenseProjectionShape& shape, const float* input, const DenseWeight& weight, float* output,
                     cudaStream_t stream);

}  // namespace glm_ops::cuda
