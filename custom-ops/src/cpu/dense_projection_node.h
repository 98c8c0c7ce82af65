// DenseProjection as its graph node defines it (docs/onnx-contract.md): the optional input activation before the
// projection (cpu/swiglu.h) and the optional addend after it, around the projection kernels of
// cpu/dense_projection.h.
#pragma once

#include "common/dense_projection_validation.h"
#include "cpu/parallel.h"

namespace glm_ops::cpu {

// input [T, 2 * in] with shape.swiglu, else as DenseProjection; addend [T, out] or null (shape.addend says which);
// output [T, out].
void DenseProjectionNode(const Parallel& parallel, const DenseProjectionShape& shape, const float* input,
                         const DenseWeight& weight, const float* addend, float* output);

}  // namespace glm_ops::cpu
