#include "cpu/moe_routing.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>


namespace glm_ops::cpu {

namespace {

// Orders candidates by descending score, then ascending index, so results never depend on sort stability.
struct ByScoreThenIndex {
  const float* score;
  bool operator()(int32_t a, int32_t b) const { return score[a] > score[b] || (score[a] == score[b] && a < b); }
};

struct RoutingScratch {
  std::vector<float> sig, biased, group_score;
  std::vector<int32_t> groups, candidates;
};

void RouteToken(const MoeRoutingShape& shape, const float* logits, const float* bias, int32_t* ids, float* weights,
                RoutingScratch& s) {
  const MoeRoutingAttributes& a = shape.attributes;
  const int64_t experts = shape.experts;
  for (int64_t e = 0; e < experts; ++e) {
    s.sig[e] = 1.0f / (1.0f + std::exp(-logits[e]));
    s.biased[e] = s.sig[e] + bias[e];
  }

  const int64_t group_size = experts / a.n_group;
  s.candidates.clear();
  if (a.topk_group < a.n_group) {
    // Group score: the sum of the group's two best biased scores (its only one when a group has one expert).
    for (int64_t g = 0; g < a.n_group; ++g) {
      float best = -INFINITY, second = -INFINITY;
      for (int64_t e = g * group_size; e < (g + 1) * group_size; ++e) {
        const float v = s.biased[e];
        if (v > best) {
          second = best;
          best = v;
        } else if (v > second) {
          second = v;
        }
      }
      s.group_score[g] = group_size > 1 ? best + second : best;
    }
    s.groups.resize(static_cast<size_t>(a.n_group));
    std::iota(s.groups.begin(), s.groups.end(), 0);
    std::partial_sort(s.groups.begin(), s.groups.begin() + a.topk_group, s.groups.end(),
                      ByScoreThenIndex{s.group_score.data()});
    std::sort(s.groups.begin(), s.groups.begin() + a.topk_group);
    for (int64_t k = 0; k < a.topk_group; ++k)
      for (int64_t e = s.groups[k] * group_size; e < (s.groups[k] + 1) * group_size; ++e)
        s.candidates.push_back(static_cast<int32_t>(e));
  } else {
    s.candidates.resize(static_cast<size_t>(experts));
    std::iota(s.candidates.begin(), s.candidates.end(), 0);
  }

  std::partial_sort(s.candidates.begin(), s.candidates.begin() + a.top_k, s.candidates.end(),
                    ByScoreThenIndex{s.biased.data()});
  float sum = 0.0f;
  for (int64_t k = 0; k < a.top_k; ++k) {
    ids[k] = s.candidates[k];
    weights[k] = s.sig[s.candidates[k]];
    sum += weights[k];
  }
  const float factor = a.norm_topk_prob ? a.routed_scaling_factor / (sum + 1e-20f) : a.routed_scaling_factor;
  for (int64_t k = 0; k < a.top_k; ++k) weights[k] *= factor;
}

}  // namespace

void MoeRouting(const Parallel& parallel, const MoeRoutingShape& shape, const float* logits, const float* bias,
                int32_t* expert_ids, float* expert_weights) {
  const int64_t top_k = shape.attributes.top_k;
  // Routing is tiny next to the experts; only big prefill batches are worth splitting across threads.
  constexpr int64_t kGrain = 64;
  parallel.For((shape.tokens + kGrain - 1) / kGrain, [&](int64_t chunk_begin, int64_t chunk_end) {
    RoutingScratch s;
    s.sig.resize(static_cast<size_t>(shape.experts));
    s.biased.resize(s.sig.size());
    s.group_score.resize(static_cast<size_t>(shape.attributes.n_group));
    const int64_t end = std::min(shape.tokens, chunk_end * kGrain);
    for (int64_t t = chunk_begin * kGrain; t < end; ++t)
      RouteToken(shape, logits + t * shape.experts, bias, expert_ids + t * top_k, expert_weights + t * top_k, s);
  });
}

}  // namespace glm_ops::cpu
