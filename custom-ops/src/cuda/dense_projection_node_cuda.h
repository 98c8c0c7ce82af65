// DenseProjection as its graph node defines it (docs/onnx-contract.md), on the GPU: the optional input activation
// (cuda/swiglu_cuda.h) into workspace before the projection, the projection kernel of cuda/dense_projection_cuda.h,
// and the optional addend in that kernel's epilogue. The CUDA counterpart of cpu/dense_projection_node.h.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "common/dense_projection_validation.h"

namespace glm_ops::cuda {

// Scratch the node needs: the activated rows [T, in] float32 with shape.swiglu, else 0 (the plain projection takes
// no workspace).
size_t DenseProjectionNodeWorkspaceBytes(const DenseProjectionShape& shape);

// input [T, 2 * in] ([gate | up]) with shape.swiglu, else [T, groups * in]; addend [T, out] exactly when
// shape.addend, else null; output [T, out]. All float32 device memory; weight (and scales) device pointers.
// `workspace` holds at least DenseProjectionNodeWorkspaceBytes(shape) bytes (may be null when that is 0).
void DenseProjectionNode(const DenseProjectionShape& shape, const float* input, const DenseWeight& weight,
                         const float* addend, float* output, void* workspace, size_t workspace_bytes,
                         cudaStream_t stream);

}  // namespace glm_ops::cuda
