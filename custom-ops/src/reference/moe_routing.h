// Reference MoeRouting (docs/onnx-contract.md): sigmoid, biased choice, group score = sum of the group's top two,
// kept groups, top-k by full sort, unbiased weights. float arithmetic, as the op defines its weights in float.
#pragma once

#include <cstdint>

#include "common/moe_routing_validation.h"

namespace glm_ops::reference {

// logits [T, E], bias [E] -> expert_ids [T, top_k] (descending biased score, ties: lower id), weights [T, top_k].
void MoeRouting(const MoeRoutingShape& shape, const float* logits, const float* bias, int32_t* expert_ids,
                float* expert_weights);

}  // namespace glm_ops::reference
