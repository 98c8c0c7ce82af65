#include "common/sparse_mla_validation.h"

#include <cmath>
#include <string>

#include "common/head_rows.h"
#include "common/input_error.h"

namespace glm_ops {

namespace {
constexpr const char* kOp = "SparseMlaAttention";
}

void ValidateSparseMlaAttributes(const SparseMlaAttributes& a) {
  if (!(std::isfinite(a.softmax_scale) && a.softmax_scale > 0.0f))
    FailAttribute(kOp, "softmax_scale", "is out of range", "a finite value > 0", std::to_string(a.softmax_scale));
}

SparseMlaShape ValidateSparseMla(const SparseMlaInputs& in, const SparseMlaAttributes& a) {
  ValidateSparseMlaAttributes(a);
  CheckDType(kOp, "q_latent", in.q_latent, DType::kFloat32);
  // [T, n_heads, kv_lora_rank], or the same rows flat (a grouped DenseProjection's output) with n_heads from q_rope.
  const HeadRows q = ValidateHeadRows(kOp, "q_latent", in.q_latent.shape, in.q_rope.shape,
                                      {"n_heads", "kv_lora_rank", "kv_lora_rank", "q_rope", "[T, n_heads, rope_dim]", 3});
  const int64_t tokens = q.tokens, heads = q.heads, rank = q.width;

  CheckDType(kOp, "q_rope", in.q_rope, DType::kFloat32);
  CheckRank(kOp, "q_rope", in.q_rope.shape, 3);
  CheckDim(kOp, "q_rope", in.q_rope.shape, 0, tokens, "tokens from q_latent");
  CheckDim(kOp, "q_rope", in.q_rope.shape, 1, heads, "n_heads from q_latent");
  CheckDimAtLeast(kOp, "q_rope", in.q_rope.shape, 2, 1, "rope_dim");
  const int64_t rope = in.q_rope.shape[2];

  CheckDType(kOp, "kv_latent", in.kv_latent, DType::kFloat32);
  CheckRank(kOp, "kv_latent", in.kv_latent.shape, 2);
  CheckDim(kOp, "kv_latent", in.kv_latent.shape, 0, tokens, "tokens from q_latent");
  CheckDim(kOp, "kv_latent", in.kv_latent.shape, 1, rank, "kv_lora_rank from q_latent");

  CheckDType(kOp, "k_rope", in.k_rope, DType::kFloat32);
  CheckRank(kOp, "k_rope", in.k_rope.shape, 2);
  CheckDim(kOp, "k_rope", in.k_rope.shape, 0, tokens, "tokens from q_latent");
  CheckDim(kOp, "k_rope", in.k_rope.shape, 1, rope, "rope_dim from q_rope");

  CheckRank(kOp, "latent_pool", in.latent_pool.shape, 3);
  CheckDim(kOp, "latent_pool", in.latent_pool.shape, 2, rank + rope, "kv_lora_rank + rope_dim");

  SparseMlaShape shape;
  shape.batch = ValidatePagedBatch(kOp, tokens, "latent_pool", in.latent_pool, in.batch);
  if (in.has_topk) {
    CheckDType(kOp, "topk_indices", in.topk_indices, DType::kInt32);
    CheckRank(kOp, "topk_indices", in.topk_indices.shape, 2);
    CheckDim(kOp, "topk_indices", in.topk_indices.shape, 0, tokens, "tokens from q_latent");
    CheckDimAtLeast(kOp, "topk_indices", in.topk_indices.shape, 1, 1, "index_topk");
    shape.topk = in.topk_indices.shape[1];
  }
  shape.tokens = tokens;
  shape.n_heads = heads;
  shape.kv_lora_rank = rank;
  shape.rope_dim = rope;
  shape.softmax_scale = a.softmax_scale;
  shape.rotate = ValidateRopeTables(kOp, in.rope, tokens, rope, /*whole_head=*/true) > 0;
  return shape;
}

}  // namespace glm_ops
