// MoeExperts' experts with many tokens as whole DenseProjection calls (docs/onnx-contract.md, MoeExperts, "Execution
// (CPU)"): such an expert's gate, up and down projections each run as one DenseProjection call over its tokens, one
// expert after another, each across the pool, where the op's work items would run its tokens in blocks of four:
// int8 / int4 experts on DenseProjection's many-token integer kernels (16-row panels or AMX-INT8 tiles,
// cpu/dense_projection_int.h; the same activation quantization, int8 per 32 columns), bf16 experts on its blocked
// float32 GEMM (cpu/dense_projection_gemm.h) where AMX-BF16 is not in use. Another summation order, so a token's
// result is the same bits for any number of tokens on its expert on one side of ExpertRunsWhole's count.
#pragma once

#include <cstdint>

#include "common/moe_experts_validation.h"
#include "cpu/parallel.h"

namespace glm_ops::cpu {

// Whether an expert with `tokens` tokens runs as whole calls: where DenseProjection would run that many tokens on its
// many-token kernels (int8 / int4: DenseIntGemmTakes; bf16: DenseBf16GemmTakes, and at least 40 tokens; other formats
// never).
bool ExpertRunsWhole(const MoeExpertsShape& shape, int64_t tokens);

// One expert's routed tokens as the op grouped them: hidden row token[a] and routing weight weight[a], a < n.
struct ExpertTokens {
  int64_t expert;
  const int64_t* token;
  const float* weight;
  int64_t n;
};

// act[a * inter + r] = SiLU(gate(x)) * up(x) of the expert's tokens; false, with act unusable, when a token's
// activations hold a NaN or an infinity (the caller's exact path then takes the expert).
bool GateUpWhole(const Parallel& parallel, const MoeExpertsShape& shape, const ExpertWeights& weights,
                 const float* hidden, const ExpertTokens& tokens, float* act);

// out[token[a]] += weight[a] * down(act[a]) for the expert's tokens (act [n, inter]), in route order. Requires finite
// act (the caller checks); a token may appear twice (routed to the expert twice).
void AddDownWhole(const Parallel& parallel, const MoeExpertsShape& shape, const ExpertWeights& weights,
                  const float* act, const ExpertTokens& tokens, float* out);

}  // namespace glm_ops::cpu
