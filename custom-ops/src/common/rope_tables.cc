#include "common/rope_tables.h"

#include <string>

#include "common/input_error.h"

namespace glm_ops {

int64_t ValidateRopeTables(const char* op, const RopeTablesInputs& in, int64_t tokens, int64_t head_dim,
                           bool whole_head) {
  if (!in.has_cos && !in.has_sin) return 0;
  if (in.has_cos != in.has_sin)
    FailInput(op, in.has_cos ? "rope_sin" : "rope_cos", "is missing", "rope_cos and rope_sin together",
              std::string("only ") + (in.has_cos ? "rope_cos" : "rope_sin"));
  CheckDType(op, "rope_cos", in.cos, DType::kFloat32);
  CheckDType(op, "rope_sin", in.sin, DType::kFloat32);
  CheckRank(op, "rope_cos", in.cos.shape, 2);
  CheckDim(op, "rope_cos", in.cos.shape, 0, tokens, "tokens");
  const int64_t half = in.cos.shape[1];
  if (whole_head && head_dim % 2 != 0)
    FailInput(op, "rope_cos", "cannot rotate an odd rope_dim", "an even rope_dim", std::to_string(head_dim));
  if (whole_head)
    CheckDim(op, "rope_cos", in.cos.shape, 1, head_dim / 2, "rope_dim / 2");
  else if (half < 1 || 2 * half > head_dim)
    FailInput(op, "rope_cos", "has the wrong shape",
              "[T, rotary_dim / 2] with 1 <= rotary_dim / 2 <= head_dim / 2 = " + std::to_string(head_dim / 2),
              FormatShape(in.cos.shape));
  CheckRank(op, "rope_sin", in.sin.shape, 2);
  CheckDim(op, "rope_sin", in.sin.shape, 0, tokens, "tokens");
  CheckDim(op, "rope_sin", in.sin.shape, 1, half, "rope_cos's width");
  return 2 * half;
}

}  // namespace glm_ops
