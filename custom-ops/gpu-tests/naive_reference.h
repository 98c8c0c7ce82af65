// Plain scalar references for the --dry-run mode (no GPU): written for obviousness, not speed, straight from
// docs/onnx-contract.md. In a dry run they stand in for the CUDA kernels, so the harness's input generation, CPU
// reference calls and comparison code all run on a machine without a GPU.
#pragma once

#include <cstdint>
#include <vector>

#include "common/lightning_indexer_validation.h"
#include "common/moe_experts_validation.h"
#include "common/moe_routing_validation.h"
#include "common/sparse_mla_validation.h"

namespace glm_ops::gpu::naive {

void LightningIndexer(const LightningIndexerShape& s, const float* q, const float* k, const float* w, float* pool,
                      int32_t* out);

void SparseMlaAttention(const SparseMlaShape& s, const float* q_latent, const float* q_rope, const float* kv_latent,
                        const float* k_rope, float* pool, const int32_t* topk, float* out);

void MoeRouting(const MoeRoutingShape& s, const float* logits, const float* bias, int32_t* ids, float* weights);

// Weights already decoded to float32 ([E, inter, hidden], [E, inter, hidden], [E, hidden, inter]).
void MoeExperts(const MoeExpertsShape& s, const float* hidden, const int32_t* ids, const float* weights,
                const std::vector<float>& gate, const std::vector<float>& up, const std::vector<float>& down,
                float* out);

}  // namespace glm_ops::gpu::naive
