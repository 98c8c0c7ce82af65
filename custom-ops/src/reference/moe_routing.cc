#include "reference/moe_routing.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace glm_ops::reference {

void MoeRouting(const MoeRoutingShape& shape, const float* logits, const float* bias, int32_t* ids,
                float* weights) {
  const MoeRoutingAttributes& a = shape.attributes;
  const int64_t experts = shape.experts, group_size = experts / a.n_group;
  for (int64_t t = 0; t < shape.tokens; ++t) {
    std::vector<float> s(static_cast<size_t>(experts)), b(s.size());
    for (int64_t e = 0; e < experts; ++e) {
      s[e] = 1.0f / (1.0f + std::exp(-logits[t * experts + e]));
      b[e] = s[e] + bias[e];
    }
    // Groups by descending score (ties: lower group), each scored by its two best biased experts (or its only one).
    std::vector<std::pair<float, int64_t>> groups;
    for (int64_t g = 0; g < a.n_group; ++g) {
      std::vector<float> members(b.begin() + g * group_size, b.begin() + (g + 1) * group_size);
      std::sort(members.rbegin(), members.rend());
      float score = 0;
      for (size_t i = 0; i < std::min<size_t>(2, members.size()); ++i) score += members[i];
      groups.push_back({-score, g});
    }
    std::sort(groups.begin(), groups.end());
    std::vector<bool> kept(static_cast<size_t>(experts), false);
    for (int64_t k = 0; k < a.topk_group; ++k)
      for (int64_t e = 0; e < group_size; ++e) kept[groups[k].second * group_size + e] = true;
    std::vector<std::pair<float, int64_t>> candidates;
    for (int64_t e = 0; e < experts; ++e)
      if (kept[e]) candidates.push_back({-b[e], e});
    std::sort(candidates.begin(), candidates.end());
    float sum = 0;
    for (int64_t k = 0; k < a.top_k; ++k) sum += s[candidates[k].second];
    for (int64_t k = 0; k < a.top_k; ++k) {
      const int64_t e = candidates[k].second;
      float w = s[e];
      if (a.norm_topk_prob) w /= (sum + 1e-20f);
      ids[t * a.top_k + k] = static_cast<int32_t>(e);
      weights[t * a.top_k + k] = w * a.routed_scaling_factor;
    }
  }
}

}  // namespace glm_ops::reference
