// CUDA kernel of MoeExperts (docs/onnx-contract.md, docs/cuda.md): routed SwiGLU experts grouped by expert, so each
// routed expert's gate/up/down rows are streamed from memory once per step for all tokens routed to it, with
// float32 / bf16 / block-FP8 (e4m3, one float scale per quant block) weights decoded in registers. Shared experts
// (shape.shared_experts, the last stacked ones) are planned as routes top_k.. of every token, with weight 1.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "common/moe_experts_validation.h"
#include "cuda/activation.h"

namespace glm_ops::cuda {

using DeviceExpertWeights = ExpertWeights;  // device pointers here (common/moe_experts_validation.h)

size_t MoeExpertsWorkspaceBytes(const MoeExpertsShape& shape);

// hidden [T, hidden] and out [T, hidden] of `type`; expert_ids int32 [T, top_k]; expert_weights float [T, top_k].
// An expert id outside [0, RoutedExperts()) contributes nothing and is counted in the workspace's error word (see
// MoeExpertsInvalidIdCount); the ORT wrapper's debug check validates ids on the host instead.
void MoeExperts(const MoeExpertsShape& shape, Activation type, const void* hidden, const int32_t* expert_ids,
                const float* expert_weights, const DeviceExpertWeights& weights, void* out, void* workspace,
                size_t workspace_bytes, cudaStream_t stream);

// Device address (inside `workspace`) of the uint32 count of invalid expert ids seen by the last MoeExperts call
// that used this workspace.
const uint32_t* MoeExpertsInvalidIdCount(const MoeExpertsShape& shape, const void* workspace);

}  // namespace glm_ops::cuda
