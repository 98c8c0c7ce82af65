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
  // [T, n_heads, kv_lora_rank], or the same rows as [T, n_heads * kv_lora_rank] (a grouped DenseProjection's output)
  // with n_heads taken from q_rope.
  const auto& ql = in.q_latent.shape;
  if (ql.size() != 2 && ql.size() != 3)
    FailInput(kOp, "q_latent", "has the wrong rank", "3 ([T, n_heads, kv_lora_rank]) or 2 ([T, n_heads * kv_lora_rank])",
              FormatShape(ql));
  if (ql.size() == 2 && (in.q_rope.shape.size() != 3 || in.q_rope.shape[1] < 1))
    FailInput(kOp, "q_rope", "has the wrong shape", "[T, n_heads, rope_dim] (n_heads for a 2-D q_latent)",
              FormatShape(in.q_rope.shape));
  CheckDimAtLeast(kOp, "q_latent", ql, ql.size() - 1, 1, "kv_lora_rank");
  const int64_t tokens = ql[0];
  const int64_t heads = ql.size() == 3 ? ql[1] : in.q_rope.shape[1];
  CheckDimAtLeast(kOp, "q_latent", ql, 1, ql.size() == 3 ? 1 : heads, "n_heads");
  if (ql.size() == 2 && ql[1] % heads != 0)
    FailInput(kOp, "q_latent", "has a width that is not n_heads x kv_lora_rank",
              "[T, n_heads * kv_lora_rank] with n_heads " + std::to_string(heads) + " from q_rope", FormatShape(ql));
  const int64_t rank = ql.size() == 3 ? ql[2] : ql[1] / heads;

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
