// Shape, type and attribute rules of SparseMlaAttention (docs/onnx-contract.md), shared by the CPU and CUDA kernels.
#pragma once

#include <cstdint>

#include "common/paged_batch.h"
#include "common/rope_tables.h"
#include "common/tensor_desc.h"

namespace glm_ops {

struct SparseMlaAttributes {
  float softmax_scale = 0.0f;
};

struct SparseMlaInputs {
  TensorDesc q_latent;     // float [T, n_heads, kv_lora_rank] or [T, n_heads * kv_lora_rank]
  TensorDesc q_rope;       // float [T, n_heads, rope_dim]
  TensorDesc kv_latent;    // float [T, kv_lora_rank]
  TensorDesc k_rope;       // float [T, rope_dim]
  TensorDesc latent_pool;  // float [num_blocks, block_size, kv_lora_rank + rope_dim]
  PagedBatchInputs batch;
  bool has_topk = false;
  TensorDesc topk_indices;  // int32 [T, K] when has_topk
  RopeTablesInputs rope;    // optional: q_rope and k_rope arrive unrotated
};

struct SparseMlaShape {
  int64_t tokens = 0;
  int64_t n_heads = 0;
  int64_t kv_lora_rank = 0;
  int64_t rope_dim = 0;
  int64_t topk = 0;  // columns of topk_indices; 0 = attend to every causal position
  float softmax_scale = 0.0f;
  bool rotate = false;  // rope tables given: the op rotates q_rope and k_rope
  PagedBatch batch;
};

void ValidateSparseMlaAttributes(const SparseMlaAttributes& attributes);

SparseMlaShape ValidateSparseMla(const SparseMlaInputs& inputs, const SparseMlaAttributes& attributes);

}  // namespace glm_ops
