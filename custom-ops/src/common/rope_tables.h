// The optional rope tables of the attention-side ops (LightningIndexer, SparseMlaAttention; docs/onnx-contract.md,
// "Rope tables"): with them an op receives its query and key rope parts unrotated and rotates them itself, so a
// graph needs no rotary node (and no reshapes around one) per query and key.
#pragma once

#include <cstdint>
#include <vector>

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

// The query [T, heads, head_dim] and key [T, head_dim] an op reads: the inputs as they came (rotary_dim 0), or
// copies rotated by `rotate` (the CPU kernel's cpu::RotatedCopy or the reference's reference::Rotated, each with
// that signature), which this object owns.
class QueryKey {
 public:
  template <typename Rotate>
  QueryKey(const float* q, const float* k, int64_t tokens, int64_t heads, int64_t head_dim, int64_t rotary_dim,
           const RopeTables& tables, Rotate rotate)
      : q_(q), k_(k) {
    if (rotary_dim == 0) return;
    q_copy_ = rotate(q, tokens, heads, head_dim, rotary_dim, tables);
    k_copy_ = rotate(k, tokens, 1, head_dim, rotary_dim, tables);
    q_ = q_copy_.data();
    k_ = k_copy_.data();
  }
  const float* q() const { return q_; }
  const float* k() const { return k_; }

 private:
  std::vector<float> q_copy_, k_copy_;
  const float* q_;
  const float* k_;
};

// Checks the tables against `tokens` rows and a head of `head_dim` dims: `whole_head` requires rotary_dim ==
// head_dim (MLA's rope part), else rotary_dim <= head_dim (the indexer rotates the first rotary_dim dims). Returns
// rotary_dim, 0 when both tables are absent. Fails naming the op and table.
int64_t ValidateRopeTables(const char* op, const RopeTablesInputs& tables, int64_t tokens, int64_t head_dim,
                           bool whole_head);

}  // namespace glm_ops
