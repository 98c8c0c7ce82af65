// The optional rope tables of the attention-side ops (LightningIndexer, SparseMlaAttention; docs/onnx-contract.md,
// "Rope tables"): with them an op receives its query and key rope parts unrotated and rotates them itself, so a
// graph needs no rotary node (and no reshapes around one) per query and key.
#pragma once

#include <cstdint>

#include "common/tensor_desc.h"

namespace glm_ops {

// rope_cos / rope_sin [T, rotary_dim / 2]: row t holds cos / sin of token t's angles. Both or neither.
struct RopeTablesInputs {
  bool has_cos = false, has_sin = false;
  TensorDesc cos, sin;
};

// The tables' pointers (in whatever memory the flavour receives them); null when the inputs arrive rotated.
struct RopeTables {
  const float* cos = nullptr;
  const float* sin = nullptr;

  bool present() const { return cos != nullptr; }
};

// Checks the tables against `tokens` rows and a head of `head_dim` dims: `whole_head` requires rotary_dim ==
// head_dim (MLA's rope part), else rotary_dim <= head_dim (the indexer rotates the first rotary_dim dims). Returns
// rotary_dim, 0 when both tables are absent. Fails naming the op and table.
int64_t ValidateRopeTables(const char* op, const RopeTablesInputs& tables, int64_t tokens, int64_t head_dim,
                           bool whole_head);

}  // namespace glm_ops
