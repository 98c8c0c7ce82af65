#include "cpu/moe_whole_calls.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "cpu/dense_projection.h"
#include "cpu/dense_projection_int.h"
#include "cpu/expert_projection.h"
#include "cpu/swiglu.h"

namespace glm_ops::cpu {

namespace {

// bf16 experts with fewer tokens stay on the op's pair kernel even where DenseProjection would take its GEMM: one
// expert at a time across the pool gains little over it below ~40 tokens. Measured, GLM-5.2 widths, 32 experts,
// top-8 (~tokens / 4 per expert), 2 threads (bench_moe_experts bf16, ms per call, two rounds; whole calls from 24 / 40
// tokens, and none): 96 tokens 347-357 / 336-340 / 340-395; 128 tokens 501-505 / 447-449 / 430-501; 160 tokens
// 600-606 / 580-599 / 605-608; 256 tokens 781-814 / 755-809 / 819-829.
constexpr int64_t kBf16WholeMinTokens = 40;

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

// One projection of the expert's rows as a DenseProjection call: bf16 on its blocked GEMM, int8 / int4 on its integer
// kernels, which return false where a row's activations are not all finite.
bool Project(const Parallel& parallel, const MoeExpertsShape& s, const DenseProjectionShape& call, const float* x,
             const WeightMatrix& m, float* y) {
  if (s.format == ExpertWeightFormat::kBFloat16) {
    DenseProjection(parallel, call, x, {m.data, nullptr}, y);
    return true;
  }
  return DenseProjectionInt(parallel, call, x, {m.data, m.scales}, y);
}

}  // namespace

bool ExpertRunsWhole(const MoeExpertsShape& s, int64_t tokens) {
  const DenseProjectionShape call = Call(s, tokens, s.hidden, s.inter);
  if (s.format == ExpertWeightFormat::kBFloat16) return tokens >= kBf16WholeMinTokens && DenseBf16GemmTakes(call);
  return IntegerPathApplies(s.format, s.quant_block_size) && DenseIntGemmTakes(call);
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
  if (!Project(parallel, s, call, rows, gate, gate_y.data()) || !Project(parallel, s, call, rows, up, up_y.data()))
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
  if (!Project(parallel, s, Call(s, t.n, s.inter, s.hidden), act, down, y.data()))
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
