// Reference MoeExperts (docs/onnx-contract.md): every weight (float, bf16, FP8, int8, int4) dequantised by its
// formula as it is used, then the SwiGLU expert as triple loops in double.
#pragma once

#include <cstdint>
#include <vector>

#include "common/moe_experts_validation.h"
#include "cpu/moe_experts.h"

namespace glm_ops::reference {

// out[i] = sum_k w[i,k] * down_e(SiLU(gate_e(x_i)) * up_e(x_i)) over token i's routes (its expert_ids, then the shared
// experts with weight 1: RouteExpert), as [T, hidden] in double.
// `weights` holds the raw stacked tensors as the op receives them (cpu::ExpertWeights).
std::vector<double> MoeExperts(const MoeExpertsShape& shape, const float* hidden, const int32_t* expert_ids,
                               const float* expert_weights, const cpu::ExpertWeights& weights);

}  // namespace glm_ops::reference
