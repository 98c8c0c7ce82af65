// DenseProjection written out from its definition (docs/onnx-contract.md): output[t, n] = sum_k input[t, k] * W[n, k]
// (with groups: input[t, g * in + k], g = n / (out / groups)) with every weight dequantised by its formula, summed in
// double.
#pragma once

#include <vector>

#include "common/dense_projection_validation.h"

namespace glm_ops::reference {

std::vector<double> DenseProjection(const DenseProjectionShape& shape, const float* input, const DenseWeight& weight);

// The whole node: with shape.swiglu the input [T, 2 * in] becomes SiLU(gate) * up (in double, rounded to float as
// the projected activations are), then the projection, then + addend [T, out] where shape.addend.
std::vector<double> DenseProjectionNode(const DenseProjectionShape& shape, const float* input, const DenseWeight& weight,
                                        const float* addend);

}  // namespace glm_ops::reference
