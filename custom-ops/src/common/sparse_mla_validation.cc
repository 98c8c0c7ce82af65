#include "common/sparse_mla_validation.h"

#include <cmath>
#include <string>

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
  CheckRank(kOp, "q_latent", in.q_latent.shape, 3);
  CheckDimAtLeast(kOp, "q_latent", in.q_latent.shape, 1, 1, "n_heads");
  CheckDimAtLeast(kOp, "q_latent", in.q_latent.shape, 2, 1, "kv_lora_rank");
  const int64_t tokens = in.q_latent.shape[0];
  const int64_t heads = in.q_latent.shape[1];
  const int64_t rank = in.q_latent.shape[2];

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
  return shape;
}

}  // namespace glm_ops
