// CUDA kernel of MoeRouting (docs/onnx-contract.md): one warp per token; sigmoid, biased choice, group-limited
// top-k with the CPU kernel's tie rule (higher score, then lower id), unbiased normalised and scaled weights.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/moe_routing_validation.h"
#include "cuda/activation.h"

namespace glm_ops::cuda {

// router_logits [T, E] of `type`, correction_bias float [E]; expert_ids int32 [T, top_k], expert_weights float
// [T, top_k]. Device pointers.
void MoeRouting(const MoeRoutingShape& shape, Activation type, const void* router_logits,
                const float* correction_bias, int32_t* expert_ids, float* expert_weights, cudaStream_t stream);

}  // namespace glm_ops::cuda
