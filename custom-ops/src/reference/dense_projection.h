// DenseProjection written out from its definition (docs/onnx-contract.md): output[t, n] = sum_k input[t, k] * W[n, k]
// (with groups: input[t, g * in + k], g = n / (out / groups)) with every weight dequantised by its formula, summed in
// double.
#pragma once

#include <vector>

#include "common/dense_projection_validation.h"

namespace glm_ops::reference {

std::vector<double> DenseProjection(const DenseProjectionShape& shape, const float* input, const DenseWeight& weight);

}  // namespace glm_ops::reference
