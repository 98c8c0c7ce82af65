#include "cpu/moe_experts.h"

#include <algorithm>
#include <atomic>
#include <vector>

#include "cpu/amx_support.h"
#include "cpu/expert_amx.h"
#include "cpu/expert_projection.h"
#include "cpu/isa_dispatch.h"
#include "cpu/moe_whole_calls.h"
#include "cpu/swiglu.h"

namespace glm_ops::cpu {

namespace {

// Rows of one work item: two 12-row tiles (kProjectionRowQuantum), or 2- / 4-row register-decoded steps.
constexpr int64_t kRowsPerItem = 2 * kProjectionRowQuantum;
// Rows of one work item on the AMX path: four 16-row blocks of cpu/expert_amx.h.
constexpr int64_t kAmxRowsPerItem = 4 * kExpertAmxBlockRows;

// Tokens routed to each expert, grouped: assignments [begin[e], begin[e+1]) belong to expert e. A token's routes are
// its top_k routed experts and then every shared one (RouteExpert), so a shared expert is one more expert whose
// tokens are all of them.
struct Routing {
  std::vector<int64_t> begin;         // experts + 1
  std::vector<int64_t> token;         // per assignment
  std::vector<float> weight;          // per assignment
  std::vector<int32_t> active;        // experts with at least one token
};

Routing GroupByExpert(const MoeExpertsShape& s, const int32_t* ids, const float* weights) {
  Routing r;
  r.begin.assign(static_cast<size_t>(s.experts + 1), 0);
  const int64_t routes = s.Routes(), assignments = s.tokens * routes;
  for (int64_t t = 0; t < s.tokens; ++t)
    for (int64_t k = 0; k < routes; ++k) ++r.begin[RouteExpert(s, ids, t, k) + 1];
  for (int64_t e = 0; e < s.experts; ++e) {
    if (r.begin[e + 1] > 0) r.active.push_back(static_cast<int32_t>(e));
    r.begin[e + 1] += r.begin[e];
  }
  r.token.resize(static_cast<size_t>(assignments));
  r.weight.resize(static_cast<size_t>(assignments));
  std::vector<int64_t> fill(r.begin.begin(), r.begin.end() - 1);
  for (int64_t t = 0; t < s.tokens; ++t)
    for (int64_t k = 0; k < routes; ++k) {
      const int64_t slot = fill[RouteExpert(s, ids, t, k)]++;
      r.token[slot] = t;
      r.weight[slot] = RouteWeight(s, weights, t, k);
    }
  return r;
}

// Activations up to which QuantizeRows runs on the calling thread (~10 us of work, about one pool dispatch).
constexpr int64_t kSerialQuantizeElements = 16384;

// Quantizes rows [0, count) of x (row stride cols) for the integer path (expert_projection.h) when the format takes
// it; else leaves `out` without rows.
void QuantizeRows(const Parallel& parallel, const MoeExpertsShape& s, const float* x, int64_t count, int64_t cols,
                  QuantizedRows& out) {
  out.Clear();
  if (!IntegerPathApplies(s.format, s.quant_block_size)) return;
  out.Reset(s.format, count, cols);
  auto quantize = [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out.Quantize(i, x + i * cols);
  };
  // Decode-sized inputs (a few rows) take a few microseconds on this thread, less than waking the pool.
  if (count * cols <= kSerialQuantizeElements)
    quantize(0, count);
  else
    parallel.For(count, quantize);
}

// Reorders rows [0, count) of x (row stride cols) for the 512-bit bf16 kernel (expert_projection.h) when bf16 weights
// take the pair path; else leaves `out` without rows.
void PairRowsOf(const Parallel& parallel, const MoeExpertsShape& s, const float* x, int64_t count, int64_t cols,
                PairedRows& out) {
  out.Clear();
  if (!Bf16PairsApply(s.format)) return;
  out.Reset(count, cols);
  auto pair = [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out.Pair(i, x + i * cols);
  };
  if (count * cols <= kSerialQuantizeElements)
    pair(0, count);
  else
    parallel.For(count, pair);
}

// bf16 weights on AMX (cpu/expert_amx.h): experts with at least this many tokens (phase 1) or routed pairs (phase 2)
// take the tile kernel, the others the pair kernel (cpu/expert_projection.h).
std::atomic<int64_t> amx_min_tokens{kExpertAmxDefaultMinTokens};

bool ExpertAmxApplies(const MoeExpertsShape& s) {
  return s.format == ExpertWeightFormat::kBFloat16 && s.hidden >= kExpertAmxTileColumns &&
         s.inter >= kExpertAmxTileColumns && ActiveIsa() == Isa::kAvx512 && AmxEnabled();
}

}  // namespace

int64_t SetMoeExpertsAmxMinTokens(int64_t tokens) {
  return amx_min_tokens.exchange(tokens < 1 ? 1 : tokens, std::memory_order_relaxed);
}

void MoeExperts(const Parallel& parallel, const MoeExpertsShape& s, const float* hidden, const int32_t* expert_ids,
                const float* expert_weights, const ExpertWeights& weights, float* out) {
  const Routing routing = GroupByExpert(s, expert_ids, expert_weights);
  const int64_t assignments = s.tokens * s.Routes();
  thread_local std::vector<float> activations;  // [assignments, inter]: SiLU(gate) * up per routed token
  activations.resize(static_cast<size_t>(assignments * s.inter));
  float* act = activations.data();
  // int8/int4 weights: the tokens' activations as int8 groups, once per token (phase 1) and per routed pair (phase 2).
  // (References: the work items run on pool threads, whose own thread_local objects are not these.)
  thread_local QuantizedRows hidden_q_buffer, act_q_buffer;
  QuantizedRows& hidden_q = hidden_q_buffer;
  QuantizedRows& act_q = act_q_buffer;
  QuantizeRows(parallel, s, hidden, s.tokens, s.hidden, hidden_q);
  const bool integer = hidden_q.Rows() != nullptr;
  // bf16 weights on AVX-512: the activations reordered to the weights' column pairs, likewise once per token and pair.
  thread_local PairedRows hidden_pairs_buffer, act_pairs_buffer;
  PairedRows& hidden_pairs = hidden_pairs_buffer;
  PairedRows& act_pairs = act_pairs_buffer;
  PairRowsOf(parallel, s, hidden, s.tokens, s.hidden, hidden_pairs);
  const bool pairs = hidden_pairs.Rows() != nullptr;

  // bf16 on AMX: experts with at least amx_min tokens take the tile kernel, items of whole 64-row tile blocks.
  const bool amx = ExpertAmxApplies(s);
  const int64_t amx_min = amx_min_tokens.load(std::memory_order_relaxed);
  auto amx_expert = [&](int64_t e) { return amx && routing.begin[e + 1] - routing.begin[e] >= amx_min; };
  const int64_t item_rows = amx ? kAmxRowsPerItem : kRowsPerItem;

  // Experts with many tokens: whole DenseProjection calls (cpu/moe_whole_calls.h); the items take the rest, and an
  // int8 / int4 expert whose tokens' activations are not all finite (its exact path).
  auto tokens_of = [&](int64_t e) {
    const int64_t first = routing.begin[e];
    return ExpertTokens{e, routing.token.data() + first, routing.weight.data() + first, routing.begin[e + 1] - first};
  };
  std::vector<int32_t> up_experts;
  for (const int32_t e : routing.active) {
    const ExpertTokens t = tokens_of(e);
    if (!(ExpertRunsWhole(s, t.n) && GateUpWhole(parallel, s, weights, hidden, t, act + routing.begin[e] * s.inter)))
      up_experts.push_back(e);
  }

  // Phase 1: gate and up projections, item = (expert, item_rows rows of inter).
  const int64_t up_tiles = (s.inter + item_rows - 1) / item_rows;
  parallel.For(static_cast<int64_t>(up_experts.size()) * up_tiles, [&](int64_t begin, int64_t end) {
    thread_local ProjectionScratch scratch;
    thread_local std::vector<float> gate_out, up_out;
    thread_local std::vector<uint32_t> split;  // AMX: this thread's current expert's tokens, split (cpu/expert_amx.h)
    thread_local std::vector<uint16_t> pad;
    int64_t split_expert = -1;
    std::vector<const float*> rows;
    std::vector<QuantizedRow> quantized;
    std::vector<const float*> pair_rows;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t e = up_experts[item / up_tiles];
      const int64_t r0 = (item % up_tiles) * item_rows, r1 = std::min(s.inter, r0 + item_rows);
      const int64_t first = routing.begin[e], n = routing.begin[e + 1] - first;
      rows.resize(static_cast<size_t>(n));
      for (int64_t a = 0; a < n; ++a) rows[a] = hidden + routing.token[first + a] * s.hidden;
      quantized.resize(integer ? static_cast<size_t>(n) : 0);
      for (int64_t a = 0; a < static_cast<int64_t>(quantized.size()); ++a)
        quantized[a] = hidden_q.Rows()[routing.token[first + a]];
      const QuantizedRow* xq = integer ? quantized.data() : nullptr;
      gate_out.resize(static_cast<size_t>(n * item_rows));
      up_out.resize(gate_out.size());
      const WeightMatrix gate = WeightMatrix::Of(s, weights.gate, weights.gate_scales, e, s.inter, s.hidden);
      const WeightMatrix up = WeightMatrix::Of(s, weights.up, weights.up_scales, e, s.inter, s.hidden);
      if (amx_expert(e)) {
        const ExpertAmxKernels& k = ExpertAmxKernelsAvx512();
        if (split_expert != e) {  // items of one expert are consecutive: split once per expert and piece
          split.resize(static_cast<size_t>(ExpertAmxSplitWords(n, s.hidden)));
          k.split(rows.data(), n, s.hidden, split.data());
          split_expert = e;
        }
        pad.resize(static_cast<size_t>(kExpertAmxBlockRows * s.hidden));
        k.project(gate, r0, r1, split.data(), rows.data(), n, gate_out.data(), item_rows, pad.data());
        k.project(up, r0, r1, split.data(), rows.data(), n, up_out.data(), item_rows, pad.data());
      } else if (pairs) {
        pair_rows.resize(static_cast<size_t>(n));
        for (int64_t a = 0; a < n; ++a) pair_rows[a] = hidden_pairs.Rows()[routing.token[first + a]];
        // What this thread reads next: the up rows, then the next item's gate rows.
        NextRows after;
        if (item + 1 < end)
          after = WeightMatrix::Of(s, weights.gate, weights.gate_scales, up_experts[(item + 1) / up_tiles], s.inter,
                                   s.hidden)
                      .From(((item + 1) % up_tiles) * item_rows);
        ProjectRowsBf16Pairs(gate, r0, r1, pair_rows.data(), n, gate_out.data(), item_rows, up.From(r0));
        ProjectRowsBf16Pairs(up, r0, r1, pair_rows.data(), n, up_out.data(), item_rows, after);
      } else {
        ProjectRows(gate, r0, r1, rows.data(), xq, n, gate_out.data(), item_rows, scratch);
        ProjectRows(up, r0, r1, rows.data(), xq, n, up_out.data(), item_rows, scratch);
      }
      for (int64_t a = 0; a < n; ++a)
        SwiGlu(gate_out.data() + a * item_rows, up_out.data() + a * item_rows, r1 - r0,
               act + (first + a) * s.inter + r0);
    }
  });

  QuantizeRows(parallel, s, act, assignments, s.inter, act_q);
  // Down projections of the experts with many tokens run after the items (which zero `out`); int8 / int4 ones where
  // every one of their activation rows is finite (the quantized rows say so).
  std::vector<char> down_whole(routing.active.size(), 0);
  for (size_t i = 0; i < routing.active.size(); ++i) {
    const int64_t e = routing.active[i], first = routing.begin[e], n = routing.begin[e + 1] - first;
    down_whole[i] = ExpertRunsWhole(s, n) &&
                    (!integer || std::all_of(act_q.Rows() + first, act_q.Rows() + first + n,
                                             [](const QuantizedRow& row) { return row.finite; }));
  }
  if (pairs) PairRowsOf(parallel, s, act, assignments, s.inter, act_pairs);
  // AMX: each AMX expert's routed pairs split once (cpu/expert_amx.h), at split_at[i] for routing.active[i].
  thread_local std::vector<uint32_t> act_split_buffer;
  std::vector<uint32_t>& act_split = act_split_buffer;
  std::vector<int64_t> split_at(routing.active.size(), -1);
  if (amx) {
    int64_t words = 0;
    for (size_t i = 0; i < routing.active.size(); ++i) {
      const int64_t e = routing.active[i];
      if (!amx_expert(e)) continue;
      split_at[i] = words;
      words += ExpertAmxSplitWords(routing.begin[e + 1] - routing.begin[e], s.inter);
    }
    act_split.resize(static_cast<size_t>(words));
    parallel.For(static_cast<int64_t>(routing.active.size()), [&](int64_t begin, int64_t end) {
      std::vector<const float*> rows;
      for (int64_t i = begin; i < end; ++i) {
        if (split_at[i] < 0) continue;
        const int64_t e = routing.active[i], first = routing.begin[e], n = routing.begin[e + 1] - first;
        rows.resize(static_cast<size_t>(n));
        for (int64_t a = 0; a < n; ++a) rows[a] = act + (first + a) * s.inter;
        ExpertAmxKernelsAvx512().split(rows.data(), n, s.inter, act_split.data() + split_at[i]);
      }
    });
  }

  // The down rows a thread reads after routing.active[i]'s in `item` (bf16 pair kernel): the next such expert's rows
  // of the item, else the first one's of the next item when this thread runs it.
  auto down_of = [&](size_t i) {
    return WeightMatrix::Of(s, weights.down, weights.down_scales, routing.active[i], s.hidden, s.inter);
  };
  auto next_down = [&](size_t i, int64_t item, int64_t end) {
    for (size_t k = i + 1; k < routing.active.size(); ++k)
      if (!down_whole[k] && split_at[k] < 0) return down_of(k).From(item * item_rows);
    for (size_t k = 0; item + 1 < end && k < routing.active.size(); ++k)
      if (!down_whole[k] && split_at[k] < 0) return down_of(k).From((item + 1) * item_rows);
    return NextRows{};
  };

  // Phase 2: down projection and weighted sum, item = item_rows output columns across all experts, so every
  // item owns its slice of `out` and no two threads add into the same element.
  const int64_t down_tiles = (s.hidden + item_rows - 1) / item_rows;
  parallel.For(down_tiles, [&](int64_t begin, int64_t end) {
    thread_local ProjectionScratch scratch;
    thread_local std::vector<float> down_out;
    thread_local std::vector<uint16_t> pad;
    std::vector<const float*> rows;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t r0 = item * item_rows, r1 = std::min(s.hidden, r0 + item_rows);
      for (int64_t t = 0; t < s.tokens; ++t) std::fill(out + t * s.hidden + r0, out + t * s.hidden + r1, 0.0f);
      for (size_t i = 0; i < routing.active.size(); ++i) {
        const int64_t e = routing.active[i];
        const int64_t first = routing.begin[e], n = routing.begin[e + 1] - first;
        if (down_whole[i]) continue;
        rows.resize(static_cast<size_t>(n));
        for (int64_t a = 0; a < n; ++a) rows[a] = act + (first + a) * s.inter;
        down_out.resize(static_cast<size_t>(n * item_rows));
        const WeightMatrix down = WeightMatrix::Of(s, weights.down, weights.down_scales, e, s.hidden, s.inter);
        // Phase-2 rows are the assignments in expert order, so an expert's quantized rows are contiguous.
        const QuantizedRow* xq = integer ? act_q.Rows() + first : nullptr;
        if (split_at[i] >= 0) {
          pad.resize(static_cast<size_t>(kExpertAmxBlockRows * s.inter));
          ExpertAmxKernelsAvx512().project(down, r0, r1, act_split.data() + split_at[i], rows.data(), n,
                                           down_out.data(), item_rows, pad.data());
        } else if (pairs) {
          ProjectRowsBf16Pairs(down, r0, r1, act_pairs.Rows() + first, n, down_out.data(), item_rows,
                               next_down(i, item, end));
        } else {
          ProjectRows(down, r0, r1, rows.data(), xq, n, down_out.data(), item_rows, scratch);
        }
        for (int64_t a = 0; a < n; ++a) {
          float* dst = out + routing.token[first + a] * s.hidden;
          const float w = routing.weight[first + a];
          for (int64_t r = r0; r < r1; ++r) dst[r] += w * down_out[a * item_rows + (r - r0)];
        }
      }
    }
  });
  for (size_t i = 0; i < routing.active.size(); ++i) {
    const int64_t e = routing.active[i];
    if (down_whole[i]) AddDownWhole(parallel, s, weights, act + routing.begin[e] * s.inter, tokens_of(e), out);
  }
}

}  // namespace glm_ops::cpu
