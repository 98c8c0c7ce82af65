#include "common/lightning_indexer_validation.h"

#include <cmath>
#include <string>

#include "common/input_error.h"

namespace glm_ops {

namespace {
constexpr const char* kOp = "LightningIndexer";
}

void ValidateLightningIndexerAttributes(const LightningIndexerAttributes& a) {
  if (a.index_topk < 1) FailAttribute(kOp, "index_topk", "is out of range", ">= 1", std::to_string(a.index_topk));
  if (a.scale && !(std::isfinite(*a.scale) && *a.scale > 0.0f))
    FailAttribute(kOp, "scale", "is out of range", "a finite value > 0", std::to_string(*a.scale));
}

LightningIndexerShape ValidateLightningIndexer(const LightningIndexerInputs& in, const LightningIndexerAttributes& a) {
  ValidateLightningIndexerAttributes(a);
  CheckDType(kOp, "index_q", in.index_q, DType::kFloat32);
  // [T, n_heads, head_dim], or the same rows as [T, n_heads * head_dim] (a projection's output) with n_heads taken
  // from head_weights.
  const auto& q = in.index_q.shape;
  if (q.size() != 2 && q.size() != 3)
    FailInput(kOp, "index_q", "has the wrong rank", "3 ([T, n_heads, head_dim]) or 2 ([T, n_heads * head_dim])",
              FormatShape(q));
  if (q.size() == 2 && (in.head_weights.shape.size() != 2 || in.head_weights.shape[1] < 1))
    FailInput(kOp, "head_weights", "has the wrong shape", "[T, n_heads] (n_heads for a 2-D index_q)",
              FormatShape(in.head_weights.shape));
  const int64_t heads = q.size() == 3 ? q[1] : in.head_weights.shape[1];
  CheckDimAtLeast(kOp, "index_q", q, 1, q.size() == 3 ? 1 : heads, "index_n_heads");
  if (q.size() == 3) CheckDimAtLeast(kOp, "index_q", q, 2, 1, "index_head_dim");
  if (q.size() == 2 && q[1] % heads != 0)
    FailInput(kOp, "index_q", "has a width that is not n_heads x head_dim",
              "[T, n_heads * head_dim] with n_heads " + std::to_string(heads) + " from head_weights", FormatShape(q));
  const int64_t tokens = q[0];
  const int64_t dim = q.size() == 3 ? q[2] : q[1] / heads;

  CheckDType(kOp, "index_k", in.index_k, DType::kFloat32);
  CheckRank(kOp, "index_k", in.index_k.shape, 2);
  CheckDim(kOp, "index_k", in.index_k.shape, 0, tokens, "tokens from index_q");
  CheckDim(kOp, "index_k", in.index_k.shape, 1, dim, "index_head_dim from index_q");

  CheckDType(kOp, "head_weights", in.head_weights, DType::kFloat32);
  CheckRank(kOp, "head_weights", in.head_weights.shape, 2);
  CheckDim(kOp, "head_weights", in.head_weights.shape, 0, tokens, "tokens from index_q");
  CheckDim(kOp, "head_weights", in.head_weights.shape, 1, heads, "index_n_heads from index_q");

  CheckRank(kOp, "index_pool", in.index_pool.shape, 3);
  CheckDim(kOp, "index_pool", in.index_pool.shape, 2, dim, "index_head_dim from index_q");

  LightningIndexerShape shape;
  shape.batch = ValidatePagedBatch(kOp, tokens, "index_pool", in.index_pool, in.batch);
  shape.tokens = tokens;
  shape.n_heads = heads;
  shape.head_dim = dim;
  shape.index_topk = a.index_topk;
  shape.scale = a.scale ? *a.scale : 1.0f / std::sqrt(static_cast<float>(dim));
  shape.rotary_dim = ValidateRopeTables(kOp, in.rope, tokens, dim, /*whole_head=*/false);
  return shape;
}

}  // namespace glm_ops
