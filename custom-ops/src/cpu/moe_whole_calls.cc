#include "cpu/moe_whole_calls.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "cpu/dense_projection_int.h"
#include "cpu/expert_projection.h"
#include "cpu/swiglu.h"

namespace glm_ops::cpu {

namespace {

// Output columns per item of the weighted add: a few cache lines of every token's row.
constexpr int64_t kAddColumns = 64;

// The expert's projection of n token rows as a DenseProjection call.
DenseProjectionShape Call(const MoeExpertsShape& s, int64_t n, int64_t in, int64_t out) {
  DenseProjectionShape d;
  d.tokens = n;
  d.in = in;
  d.out = out;
  d.quant_block_size = s.quant_block_size;
  d.format = s.format;
  return d;
}

// Whether the expert's tokens are rows 0 .. n-1 in order (a shared expert's: every token), so hidden needs no gather.
bool InOrder(const ExpertTokens& t) {
  for (int64_t a = 0; a < t.n; ++a)
    if (t.token[a] != a) return false;
  return true;
}

}  // namespace

bool ExpertRunsWhole(const MoeExpertsShape& s, int64_t tokens) {
  return IntegerPathApplies(s.format, s.quant_block_size) && DenseIntGemmTakes(Call(s, tokens, s.hidden, s.inter));
}

bool GateUpWhole(const Parallel& parallel, const MoeExpertsShape& s, const ExpertWeights& weights,
                 const float* hidden, const ExpertTokens& t, float* act) {
  thread_local std::vector<float> gathered_buffer, gate_buffer, up_buffer;
  // (References: the pool threads' own thread_local objects are not these.)
  std::vector<float>& gate_y = gate_buffer;
  std::vector<float>& up_y = up_buffer;
  const float* rows = hidden;
  if (!InOrder(t)) {
    gathered_buffer.resize(static_cast<size_t>(t.n * s.hidden));
    for (int64_t a = 0; a < t.n; ++a)
      std::copy_n(hidden + t.token[a] * s.hidden, s.hidden, gathered_buffer.data() + a * s.hidden);
    rows = gathered_buffer.data();
  }
  gate_y.resize(static_cast<size_t>(t.n * s.inter));
  up_y.resize(gate_y.size());
  const DenseProjectionShape call = Call(s, t.n, s.hidden, s.inter);
  const WeightMatrix gate = WeightMatrix::Of(s, weights.gate, weights.gate_scales, t.expert, s.inter, s.hidden);
  const WeightMatrix up = WeightMatrix::Of(s, weights.up, weights.up_scales, t.expert, s.inter, s.hidden);
  if (!DenseProjectionInt(parallel, call, rows, {gate.data, gate.scales}, gate_y.data()) ||
      !DenseProjectionInt(parallel, call, rows, {up.data, up.scales}, up_y.data()))
    return false;
  parallel.For(t.n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      SwiGlu(gate_y.data() + i * s.inter, up_y.data() + i * s.inter, s.inter, act + i * s.inter);
  });
  return true;
}

void AddDownWhole(const Parallel& parallel, const MoeExpertsShape& s, const ExpertWeights& weights,
                  const float* act, const ExpertTokens& t, float* out) {
  thread_local std::vector<float> down_buffer;
  std::vector<float>& y = down_buffer;
  y.resize(static_cast<size_t>(t.n * s.hidden));
  const WeightMatrix down = WeightMatrix::Of(s, weights.down, weights.down_scales, t.expert, s.hidden, s.inter);
  if (!DenseProjectionInt(parallel, Call(s, t.n, s.inter, s.hidden), act, {down.data, down.scales}, y.data()))
    throw std::logic_error("MoeExperts: AddDownWhole was given non-finite activations");
  // Items are column blocks over every token, so a token routed to this expert twice (legal: the two routes add up)
  // is added to by one thread, in route order.
  parallel.For((s.hidden + kAddColumns - 1) / kAddColumns, [&](int64_t begin, int64_t end) {
    const int64_t r0 = begin * kAddColumns, r1 = std::min(s.hidden, end * kAddColumns);
    for (int64_t a = 0; a < t.n; ++a) {
      float* dst = out + t.token[a] * s.hidden;
      const float w = t.weight[a];
      for (int64_t r = r0; r < r1; ++r) dst[r] += w * y[a * s.hidden + r];
    }
  });
}

}  // namespace glm_ops::cpu
