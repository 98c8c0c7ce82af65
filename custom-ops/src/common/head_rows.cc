#include "common/head_rows.h"

#include <string>

#include "common/input_error.h"

namespace glm_ops {

HeadRows ValidateHeadRows(const char* op, const char* input, const std::vector<int64_t>& shape,
                          const std::vector<int64_t>& sibling_shape, const HeadRowsNames& names) {
  const std::string width = names.width;
  if (shape.size() != 2 && shape.size() != 3)
    FailInput(op, input, "has the wrong rank", "3 ([T, n_heads, " + width + "]) or 2 ([T, n_heads * " + width + "])",
              FormatShape(shape));
  const bool flat = shape.size() == 2;
  if (flat && (sibling_shape.size() != names.sibling_rank || sibling_shape[1] < 1))
    FailInput(op, names.sibling, "has the wrong shape",
              std::string(names.sibling_layout) + " (n_heads for a 2-D " + input + ")", FormatShape(sibling_shape));
  HeadRows rows;
  rows.tokens = shape[0];
  rows.heads = flat ? sibling_shape[1] : shape[1];
  CheckDimAtLeast(op, input, shape, 1, flat ? rows.heads : 1, names.heads);
  if (!flat) CheckDimAtLeast(op, input, shape, 2, 1, names.width_dim);
  if (flat && shape[1] % rows.heads != 0)
    FailInput(op, input, "has a width that is not n_heads x " + width,
              "[T, n_heads * " + width + "] with n_heads " + std::to_string(rows.heads) + " from " + names.sibling,
              FormatShape(shape));
  rows.width = flat ? shape[1] / rows.heads : shape[2];
  return rows;
}

}  // namespace glm_ops
