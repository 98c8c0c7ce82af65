// MoeExperts' many-token bf16 kernel on Intel AMX (AMX-TILE + AMX-BF16), beside the AVX-512 pair kernel
// (cpu/expert_kernels.h, project_bf16_pairs), with DenseProjection's AMX arithmetic (cpu/dense_projection_amx.h):
// each activation is split into two bf16 terms (hi = bf16(x), lo = bf16(x - hi), simd::SplitBf16x32) and every
// 16 x 16 output tile (16 weight rows x 16 tokens) sums both terms against the stored bf16 weights with TDPBF16PS
// (float32 sums); columns past the last whole 32-column block are added in float32 from the activations.
//
// Tiles: A = 16 weight rows x 32 columns, loaded in place from the expert's [rows, cols] matrix; B = one term of 32
// columns x 16 tokens in the VNNI layout (row p, lane j = token j's columns 2p and 2p + 1), prepared once per expert
// (phase 1: per thread, when its work items reach a new expert; phase 2: once per call) by split; C = the float32
// sums. Since an expert sees few tokens at a prefill (~8 at GLM-5.2's top-8 of 256 and prompt 256), a B tile holds
// 8 tokens' hi terms in lanes 0-7 and their lo terms in lanes 8-15 (no half-empty tile), the two halves of C added
// at the end. A block of 16 weight rows runs one C tile over the whole width (one A + one B tile load per
// TDPBF16PS), the weights streaming from memory as 16 rows side by side with software prefetch into L2 ahead
// (blocks of 32 or 64 rows, 32 / 64 streams, measured slower).
// Compiled in the AVX-512 copy of src/cpu/isa/expert_amx.cc only; used where ExpertAmxApplies (cpu/moe_experts.cc):
// bf16 weights, the AVX-512 kernels active, AMX usable and not turned off (cpu/amx_support.h, GLM_OPS_AMX=off).
#pragma once

#include <cstdint>

#include "cpu/expert_projection.h"

namespace glm_ops::cpu {

// Tokens and columns of one B tile (its 16 lanes: the tokens' hi terms, then their lo terms), and its uint32 words.
constexpr int64_t kExpertAmxTileTokens = 8;
constexpr int64_t kExpertAmxTileColumns = 32;
constexpr int64_t kExpertAmxTileWords = 256;
// Weight rows per block of the kernel (one A tile); callers' row ranges should be multiples of it.
constexpr int64_t kExpertAmxBlockRows = 16;

// uint32 words of split activations for n tokens of `cols` columns: per token tile, per whole 32-column block, one
// B tile (row p: lanes 0-7 the tokens' hi column pair p, lanes 8-15 their lo pair).
constexpr int64_t ExpertAmxSplitWords(int64_t n, int64_t cols) {
  return (n + kExpertAmxTileTokens - 1) / kExpertAmxTileTokens * (cols / kExpertAmxTileColumns) *
         kExpertAmxTileWords;
}

struct ExpertAmxKernels {
  // Tokens x[0..n) (`cols` columns each) into b (ExpertAmxSplitWords(n, cols) words); tokens past n are zero.
  void (*split)(const float* const* x, int64_t n, int64_t cols, uint32_t* b);
  // y[t * ldy + (r - r0)] = sum_c W[r, c] * x_t[c] for r in [r0, r1), t < n, bf16 w, b = split of the same n tokens
  // (columns past the last whole block from x in float32). pad: kExpertAmxBlockRows x w.cols bf16 of the
  // caller's, for a row tile that reaches past the matrix's end (a zero-padded copy; no read past the matrix).
  void (*project)(const WeightMatrix& w, int64_t r0, int64_t r1, const uint32_t* b, const float* const* x, int64_t n,
                  float* y, int64_t ldy, uint16_t* pad);
};

// The table of the AVX-512 compilation (the AVX2 compilation of the file defines nothing).
const ExpertAmxKernels& ExpertAmxKernelsAvx512();

}  // namespace glm_ops::cpu
