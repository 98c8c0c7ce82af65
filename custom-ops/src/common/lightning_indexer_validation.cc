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
  CheckRank(kOp, "index_q", in.index_q.shape, 3);
  CheckDimAtLeast(kOp, "index_q", in.index_q.shape, 1, 1, "index_n_heads");
  CheckDimAtLeast(kOp, "index_q", in.index_q.shape, 2, 1, "index_head_dim");
  const int64_t tokens = in.index_q.shape[0];
  const int64_t heads = in.index_q.shape[1];
  const int64_t dim = in.index_q.shape[2];

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
  return shape;
}

}  // namespace glm_ops
