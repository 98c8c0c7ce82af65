#include "reference/sparse_mla_attention.h"

#include <algorithm>
#include <cmath>

#include "reference/paged_rows.h"
#include "reference/rope.h"

namespace glm_ops::reference {

std::vector<double> SparseMlaAttention(const SparseMlaShape& s, const float* q_latent, const float* q_rope,
                                       const float* kv_latent, const float* k_rope, const RopeTables& tables,
                                       float* pool, const int32_t* topk) {
  const PagedBatch& b = s.batch;
  const int64_t rank = s.kv_lora_rank, rope = s.rope_dim, width = rank + rope, heads = s.n_heads;
  const QueryKey qk(q_rope, k_rope, s.tokens, heads, rope, s.rotate ? rope : 0, tables, Rotated);
  q_rope = qk.q();
  k_rope = qk.k();
  for (int64_t t = 0; t < s.tokens; ++t) {
    float* row = pool + b.PoolRow(SequenceOf(b, t), PositionOf(b, t)) * width;
    std::copy(kv_latent + t * rank, kv_latent + (t + 1) * rank, row);
    std::copy(k_rope + t * rope, k_rope + (t + 1) * rope, row + rank);
  }
  std::vector<double> out(static_cast<size_t>(s.tokens * heads * rank), 0.0);
  for (int64_t t = 0; t < s.tokens; ++t) {
    const int64_t seq = SequenceOf(b, t), position = PositionOf(b, t);
    std::vector<int64_t> attended;
    if (topk) {
      for (int64_t j = 0; j < s.topk; ++j) {
        const int64_t p = topk[t * s.topk + j];
        if (p >= 0 && p <= position) attended.push_back(p);
      }
    } else {
      for (int64_t p = 0; p <= position; ++p) attended.push_back(p);
    }
    if (attended.empty()) continue;
    for (int64_t h = 0; h < heads; ++h) {
      const float* ql = q_latent + (t * heads + h) * rank;
      const float* qr = q_rope + (t * heads + h) * rope;
      std::vector<double> weight;
      for (int64_t p : attended) {
        const float* c = pool + b.PoolRow(seq, p) * width;
        double dot = 0;
        for (int64_t d = 0; d < rank; ++d) dot += static_cast<double>(ql[d]) * c[d];
        for (int64_t d = 0; d < rope; ++d) dot += static_cast<double>(qr[d]) * c[rank + d];
        weight.push_back(s.softmax_scale * dot);
      }
      const double max = *std::max_element(weight.begin(), weight.end());
      double sum = 0;
      for (double& x : weight) sum += (x = std::exp(x - max));
      double* o = out.data() + (t * heads + h) * rank;
      for (size_t i = 0; i < attended.size(); ++i) {
        const float* c = pool + b.PoolRow(seq, attended[i]) * width;
        for (int64_t d = 0; d < rank; ++d) o[d] += weight[i] / sum * c[d];
      }
    }
  }
  return out;
}

}  // namespace glm_ops::reference
