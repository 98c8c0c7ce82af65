// CUDA kernel of SparseMlaAttention (docs/onnx-contract.md, docs/cuda.md): writes [kv_latent, k_rope] of the new
// tokens into the paged latent pool in place, then runs absorbed MLA over the selected (or all causal) positions with
// flash-decoding: the positions of a token are split across blocks, each block keeps an online softmax for 32 heads
// that share every loaded cache row, and a combine kernel merges the splits.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "common/sparse_mla_validation.h"
#include "cuda/activation.h"

namespace glm_ops::cuda {

size_t SparseMlaAttentionWorkspaceBytes(const SparseMlaShape& shape);

// q_latent [T, H, R], q_rope [T, H, P], kv_latent [T, R], k_rope [T, P], latent_pool [blocks, block_size, R + P]
// and out [T, H, R] are of `type`; topk_indices int32 [T, K] or null. Device pointers; shape.batch is host data.
// With shape.rotate, q_rope and k_rope arrive unrotated and `rope` (float32 device tables [T, P / 2]) rotates them
// into workspace copies (cuda/rope_cuda.h) before the pool write and the scores; else `rope` is ignored.
void SparseMlaAttention(const SparseMlaShape& shape, Activation type, const void* q_latent, const void* q_rope,
                        const void* kv_latent, const void* k_rope, const RopeTables& rope, void* latent_pool,
                        const int32_t* topk_indices, void* out, void* workspace, size_t workspace_bytes,
                        cudaStream_t stream);

}  // namespace glm_ops::cuda
