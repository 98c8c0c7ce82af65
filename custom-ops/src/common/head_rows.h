// Inputs that hold one row per head: [T, n_heads, width], or the same rows flat as [T, n_heads * width] (a projection's
// output, as the graph produces it) with n_heads read from a sibling input whose axis 1 is n_heads. LightningIndexer's
// index_q (sibling head_weights) and SparseMlaAttention's q_latent (sibling q_rope) are such inputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace glm_ops {

struct HeadRows {
  int64_t tokens = 0, heads = 0, width = 0;
};

// The names a failure uses.
struct HeadRowsNames {
  const char* heads;           // the heads dimension, e.g. "index_n_heads"
  const char* width;           // the width in layouts, e.g. "head_dim"
  const char* width_dim;       // the width dimension, e.g. "index_head_dim"
  const char* sibling;         // the input n_heads comes from for a 2-D input
  const char* sibling_layout;  // its layout, e.g. "[T, n_heads]"
  std::size_t sibling_rank;
};

// Checks `input` (rank 3, or rank 2 with a whole number of heads of at least one column each) and, for rank 2, that
// the sibling has its rank and at least one head; fails with an InputError naming the input otherwise.
HeadRows ValidateHeadRows(const char* op, const char* input, const std::vector<int64_t>& shape,
                          const std::vector<int64_t>& sibling_shape, const HeadRowsNames& names);

}  // namespace glm_ops
