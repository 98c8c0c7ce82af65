// Shape, type and attribute rules of LightningIndexer (docs/onnx-contract.md), shared by the CPU and CUDA kernels.
#pragma once

#include <cstdint>
#include <optional>

#include "common/paged_batch.h"
#include "common/rope_tables.h"
#include "common/tensor_desc.h"

namespace glm_ops {

struct LightningIndexerAttributes {
  int64_t index_topk = 0;
  std::optional<float> scale;  // absent: head_dim^-0.5
};

struct LightningIndexerInputs {
  TensorDesc index_q;       // float [T, n_heads, head_dim] or [T, n_heads * head_dim]
  TensorDesc index_k;       // float [T, head_dim]
  TensorDesc head_weights;  // float [T, n_heads]
  TensorDesc index_pool;    // float [num_blocks, block_size, head_dim]
  PagedBatchInputs batch;
  RopeTablesInputs rope;    // optional: q and k arrive unrotated
};

struct LightningIndexerShape {
  int64_t tokens = 0;
  int64_t n_heads = 0;
  int64_t head_dim = 0;
  int64_t index_topk = 0;
  float scale = 0.0f;  // resolved: the attribute or head_dim^-0.5
  int64_t rotary_dim = 0;  // > 0: the op rotates the first rotary_dim dims of q and k (rope tables given)
  PagedBatch batch;
};

void ValidateLightningIndexerAttributes(const LightningIndexerAttributes& attributes);

LightningIndexerShape ValidateLightningIndexer(const LightningIndexerInputs& inputs,
                                               const LightningIndexerAttributes& attributes);

}  // namespace glm_ops
