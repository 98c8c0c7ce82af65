// CUDA kernel of LightningIndexer (docs/onnx-contract.md, docs/cuda.md): writes the new indexer keys into the paged
// pool in place, scores every causal key of each new token, and selects the top index_topk per token with a
// multi-block radix select. Same results as cpu::LightningIndexer up to float rounding of the scores.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "common/lightning_indexer_validation.h"
#include "cuda/activation.h"

namespace glm_ops::cuda {

// Device scratch one call needs (batch arrays, scores and candidates of the largest query group, histograms).
size_t LightningIndexerWorkspaceBytes(const LightningIndexerShape& shape);

// All pointers except the ones inside shape.batch (host, validated) are device pointers on the current device.
// index_q [T, H, D] (or the same memory as [T, H * D]), index_k [T, D], head_weights [T, H], index_pool
// [blocks, block_size, D], all of `type`; topk_indices int32 [T, index_topk]. With shape.rotary_dim > 0, q and k
// arrive unrotated and `rope` (float32 device tables [T, rotary_dim / 2]) rotates the first rotary_dim dims of every
// head into workspace copies (cuda/rope_cuda.h) before the key write and the scores; else `rope` is ignored.
// Everything is enqueued on `stream`; nothing synchronises.
void LightningIndexer(const LightningIndexerShape& shape, Activation type, const void* index_q, const void* index_k,
                      const void* head_weights, const RopeTables& rope, void* index_pool, int32_t* topk_indices,
                      void* workspace, size_t workspace_bytes, cudaStream_t stream);

}  // namespace glm_ops::cuda
