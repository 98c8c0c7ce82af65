// Reference SparseMlaAttention (docs/onnx-contract.md): writes the new latent rows, then an explicit
// (max-subtracted) softmax over the attended positions in double precision.
#pragma once

#include <cstdint>
#include <vector>

#include "common/sparse_mla_validation.h"

namespace glm_ops::reference {

// The op's output [T, n_heads, kv_lora_rank] in double; latent_pool gets the new rows [kv_latent, k_rope] first.
// topk_indices may be null (all causal positions); selected positions that are negative or beyond the token's
// position are ignored; a token with nothing to attend gets zeros. With shape.rotate, q_rope and k_rope are
// rotated by `rope` first (reference/rope.h).
std::vector<double> SparseMlaAttention(const SparseMlaShape& shape, const float* q_latent, const float* q_rope,
                                       const float* kv_latent, const float* k_rope, const RopeTables& rope,
                                       float* latent_pool, const int32_t* topk_indices);

}  // namespace glm_ops::reference
