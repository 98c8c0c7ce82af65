#include "common/lightning_indexer_validation.h"

#include <cmath>
#include <string>

#include "common/head_rows.h"
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
  // [T, n_heads, head_dim], or the same rows flat (a projection's output) with n_heads from head_weights.
  const HeadRows q = ValidateHeadRows(kOp, "index_q", in.index_q.shape, in.head_weights.shape,
                                      {"index_n_heads", "head_dim", "index_head_dim", "head_weights", "[T, n_heads]", 2});
  const int64_t tokens = q.tokens, heads = q.heads, dim = q.width;

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
