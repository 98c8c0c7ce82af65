#include "naive_reference.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace glm_ops::gpu::naive {

namespace {

int64_t SequenceOf(const PagedBatch& b, int64_t token) {
  int64_t seq = 0;
  while (!(token >= b.cu[seq] && token < b.cu[seq + 1])) ++seq;
  return seq;
}

}  // namespace

void LightningIndexer(const LightningIndexerShape& s, const float* q, const float* k, const float* w, float* pool,
                      int32_t* out) {
  const PagedBatch& b = s.batch;
  const int64_t D = s.head_dim, H = s.n_heads, K = s.index_topk;
  for (int64_t t = 0; t < s.tokens; ++t) {
    const int64_t seq = SequenceOf(b, t), pos = b.past[seq] + t - b.cu[seq];
    std::copy(k + t * D, k + (t + 1) * D, pool + b.PoolRow(seq, pos) * D);
  }
  for (int64_t t = 0; t < s.tokens; ++t) {
    const int64_t seq = SequenceOf(b, t), pos = b.past[seq] + t - b.cu[seq];
    int32_t* row = out + t * K;
    if (pos + 1 <= K) {
      for (int64_t j = 0; j < K; ++j) row[j] = j <= pos ? static_cast<int32_t>(j) : -1;
      continue;
    }
    std::vector<double> score(static_cast<size_t>(pos + 1));
    for (int64_t key = 0; key <= pos; ++key) {
      const float* kr = pool + b.PoolRow(seq, key) * D;
      double total = 0;
      for (int64_t h = 0; h < H; ++h) {
        double dot = 0;
        for (int64_t d = 0; d < D; ++d) dot += static_cast<double>(q[(t * H + h) * D + d]) * kr[d];
        total += w[t * H + h] * std::max(0.0, s.scale * dot);
      }
      score[key] = total;
    }
    std::vector<int32_t> order(score.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t c) { return score[a] > score[c]; });
    std::copy(order.begin(), order.begin() + K, row);
  }
}

void SparseMlaAttention(const SparseMlaShape& s, const float* q_latent, const float* q_rope, const float* kv_latent,
                        const float* k_rope, float* pool, const int32_t* topk, float* out) {
  const PagedBatch& b = s.batch;
  const int64_t R = s.kv_lora_rank, P = s.rope_dim, W = R + P, H = s.n_heads;
  for (int64_t t = 0; t < s.tokens; ++t) {
    const int64_t seq = SequenceOf(b, t), pos = b.past[seq] + t - b.cu[seq];
    float* row = pool + b.PoolRow(seq, pos) * W;
    std::copy(kv_latent + t * R, kv_latent + (t + 1) * R, row);
    std::copy(k_rope + t * P, k_rope + (t + 1) * P, row + R);
  }
  for (int64_t t = 0; t < s.tokens; ++t) {
    const int64_t seq = SequenceOf(b, t), pos = b.past[seq] + t - b.cu[seq];
    std::vector<int64_t> positions;
    if (topk) {
      for (int64_t j = 0; j < s.topk; ++j) {
        const int64_t p = topk[t * s.topk + j];
        if (p >= 0 && p <= pos) positions.push_back(p);
      }
    } else {
      for (int64_t p = 0; p <= pos; ++p) positions.push_back(p);
    }
    for (int64_t h = 0; h < H; ++h) {
      const float* ql = q_latent + (t * H + h) * R;
      const float* qr = q_rope + (t * H + h) * P;
      std::vector<double> logits;
      for (int64_t p : positions) {
        const float* c = pool + b.PoolRow(seq, p) * W;
        double dot = 0;
        for (int64_t d = 0; d < R; ++d) dot += static_cast<double>(ql[d]) * c[d];
        for (int64_t d = 0; d < P; ++d) dot += static_cast<double>(qr[d]) * c[R + d];
        logits.push_back(s.softmax_scale * dot);
      }
      float* o = out + (t * H + h) * R;
      std::fill(o, o + R, 0.0f);
      if (positions.empty()) continue;
      const double mx = *std::max_element(logits.begin(), logits.end());
      double sum = 0;
      for (double& l : logits) sum += (l = std::exp(l - mx));
      for (int64_t d = 0; d < R; ++d) {
        double acc = 0;
        for (size_t i = 0; i < positions.size(); ++i) acc += logits[i] * pool[b.PoolRow(seq, positions[i]) * W + d];
        o[d] = static_cast<float>(acc / sum);
      }
    }
  }
}

void MoeRouting(const MoeRoutingShape& s, const float* logits, const float* bias, int32_t* ids, float* weights) {
  const MoeRoutingAttributes& a = s.attributes;
  const int64_t E = s.experts, group_size = E / a.n_group;
  for (int64_t t = 0; t < s.tokens; ++t) {
    std::vector<float> sig(E), biased(E);
    for (int64_t e = 0; e < E; ++e) {
      sig[e] = 1.0f / (1.0f + std::exp(-logits[t * E + e]));
      biased[e] = sig[e] + bias[e];
    }
    std::vector<bool> kept(static_cast<size_t>(a.n_group), true);
    if (a.topk_group < a.n_group) {
      std::vector<float> gscore(static_cast<size_t>(a.n_group));
      for (int64_t g = 0; g < a.n_group; ++g) {
        std::vector<float> members(biased.begin() + g * group_size, biased.begin() + (g + 1) * group_size);
        std::sort(members.begin(), members.end(), std::greater<float>());
        gscore[g] = members[0] + (group_size > 1 ? members[1] : 0.0f);
      }
      std::vector<int64_t> order(static_cast<size_t>(a.n_group));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return gscore[x] > gscore[y]; });
      std::fill(kept.begin(), kept.end(), false);
      for (int64_t g = 0; g < a.topk_group; ++g) kept[order[g]] = true;
    }
    std::vector<int64_t> candidates;
    for (int64_t e = 0; e < E; ++e)
      if (kept[e / group_size]) candidates.push_back(e);
    std::stable_sort(candidates.begin(), candidates.end(), [&](int64_t x, int64_t y) { return biased[x] > biased[y]; });
    float sum = 0;
    for (int64_t k = 0; k < a.top_k; ++k) sum += sig[candidates[k]];
    for (int64_t k = 0; k < a.top_k; ++k) {
      ids[t * a.top_k + k] = static_cast<int32_t>(candidates[k]);
      const float w = sig[candidates[k]];
      weights[t * a.top_k + k] =
          a.norm_topk_prob ? w / (sum + 1e-20f) * a.routed_scaling_factor : w * a.routed_scaling_factor;
    }
  }
}

void MoeExperts(const MoeExpertsShape& s, const float* hidden, const int32_t* ids, const float* weights,
                const std::vector<float>& gate, const std::vector<float>& up, const std::vector<float>& down,
                float* out) {
  const int64_t Hd = s.hidden, I = s.inter;
  std::vector<double> h(static_cast<size_t>(I));
  for (int64_t t = 0; t < s.tokens; ++t) {
    std::vector<double> acc(static_cast<size_t>(Hd), 0.0);
    for (int64_t k = 0; k < s.top_k; ++k) {
      const int64_t e = ids[t * s.top_k + k];
      for (int64_t r = 0; r < I; ++r) {
        double g = 0, u = 0;
        for (int64_t c = 0; c < Hd; ++c) {
          g += static_cast<double>(gate[(e * I + r) * Hd + c]) * hidden[t * Hd + c];
          u += static_cast<double>(up[(e * I + r) * Hd + c]) * hidden[t * Hd + c];
        }
        h[r] = g / (1.0 + std::exp(-g)) * u;
      }
      for (int64_t r = 0; r < Hd; ++r) {
        double d = 0;
        for (int64_t c = 0; c < I; ++c) d += static_cast<double>(down[(e * Hd + r) * I + c]) * h[c];
        acc[r] += weights[t * s.top_k + k] * d;
      }
    }
    for (int64_t r = 0; r < Hd; ++r) out[t * Hd + r] = static_cast<float>(acc[r]);
  }
}

}  // namespace glm_ops::gpu::naive
