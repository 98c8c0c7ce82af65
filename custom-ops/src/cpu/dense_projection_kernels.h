// DenseProjection's own decode-time kernels (few tokens, every weight read once from memory), compiled once per
// instruction set like the expert kernels (src/cpu/isa/dense_projection_kernels.cc, cpu/expert_kernels.h): the
// AVX-512 copy runs 16-lane vectors, the AVX2 copy 8-lane ones. The table is picked by cpu/isa_dispatch.h's
// ActiveIsa(), so GLM_OPS_ISA=avx2|avx512 switches these kernels with the others. Raw pointers only (no
// standard-library templates in the per-ISA file, docs/onnx-contract.md, "Instruction sets").
//
// bf16 without a widening shuffle: a vector of 2L bf16 weights (L float lanes) holds columns 2i and 2i+1 in the low
// and high half of lane i, so `lane << 16` is column 2i as float32 and `lane & 0xFFFF0000` is column 2i+1. The
// activations are laid out to match once per call (PermuteBf16Activations): per block of 2L columns, the L even
// columns, then the L odd ones. Per 2L weights: one load, one shift, one and, two FMAs.
#pragma once

#include <cstdint>

namespace glm_ops::cpu {

// Tokens one kernel call takes at most; callers run more as blocks of this many (an item's rows are then re-read
// from L1/L2, not memory).
constexpr int64_t kDenseGemvMaxTokens = 4;

// Output rows per kernel step: 8 for one token (eight weight streams, eight independent accumulator chains), 4 for
// two, 2 for three and four. A work item's rows should be a multiple of it.
constexpr int64_t kDenseGemvRowQuantum = 8;

// Rows per block of the many-token split-activation kernel (gemm_bf16_dot), and the floats of its scratch per token:
// one 16-lane vector of partial sums per row of a block.
constexpr int64_t kDenseGemmDotRows = 16;
constexpr int64_t kDenseGemmDotScratchPerToken = kDenseGemmDotRows * 16;

struct DenseKernels {
  const char* isa;  // "avx2" or "avx512"
  // Columns per permuted block (2L: 32 for AVX-512, 16 for AVX2).
  int64_t bf16_block;
  // out[0 .. cols / bf16_block * bf16_block) = x's whole blocks, each as its even columns then its odd ones.
  void (*permute_bf16_activations)(const float* x, int64_t cols, float* out);
  // y[t * ldy + (r - r0)] = sum_c bf16(w[r * cols + c]) * x[t][c] for r in [r0, r1), t < n
  // (1 <= n <= kDenseGemvMaxTokens), summed in float32. xp: token t's permuted activations at xp + t * ldxp; x: its
  // plain ones at x + t * ldx (the columns past the last whole block).
  void (*gemv_bf16)(const uint16_t* w, int64_t cols, int64_t r0, int64_t r1, const float* xp, int64_t ldxp,
                    const float* x, int64_t ldx, int64_t n, float* y, int64_t ldy);
  // AVX512_BF16 only (null in the AVX2 table): the same product by vdpbf16ps, which multiplies bf16 pairs and adds
  // in float32. Each activation is split into two bf16 terms, x ~ hi + lo with hi = bf16(x) and lo = bf16(x - hi)
  // (within 2^-16 |x|; one bf16 rounding alone would be 2^-8), so the sums stay within ~2^-16 of the float32
  // kernel's instead of changing the model's results; per token and 32 weights two instructions, no weight decoding.
  // out: the whole blocks' hi in column order, then their lo (2 x whole elements).
  void (*split_bf16_activations)(const float* x, int64_t cols, uint16_t* out);
  // As gemv_bf16, with xb: token t's split activations at xb + t * ldxb (x: its float32 ones, for the tail).
  void (*gemv_bf16_dot)(const uint16_t* w, int64_t cols, int64_t r0, int64_t r1, const uint16_t* xb, int64_t ldxb,
                        const float* x, int64_t ldx, int64_t n, float* y, int64_t ldy);
  // AVX512_BF16 only: the same product for any n >= 1 (prefill), cache-blocked: rows in blocks of
  // kDenseGemmDotRows, columns in chunks of 512 that the block's weights and a 4-token block's activations share in
  // L1 while all n tokens run over them, per-lane sums kept across chunks in `scratch` (n x kDenseGemmDotScratchPerToken
  // floats, the caller's). Each weight is read from memory once per call; the same sums as gemv_bf16_dot.
  void (*gemm_bf16_dot)(const uint16_t* w, int64_t cols, int64_t r0, int64_t r1, const uint16_t* xb, int64_t ldxb,
                        const float* x, int64_t ldx, int64_t n, float* y, int64_t ldy, float* scratch);
  // float32 weights: y[t * ldy + (r - r0)] = sum_c w[r * cols + c] * x[t * ldx + c] for r in [r0, r1), t < n
  // (1 <= n <= kDenseGemvMaxTokens), summed in float32 per lane, one 64-byte line of every row of a step per
  // iteration, the lines kPrefetchRows rows ahead asked for meanwhile (the rows of a decode-time matrix stream from
  // memory once per call).
  void (*gemv_f32)(const float* w, int64_t cols, int64_t r0, int64_t r1, const float* x, int64_t ldx, int64_t n,
                   float* y, int64_t ldy);
  // AVX-512 only (null in the AVX2 table, where the expert kernels' row projection takes FP8): block-FP8 weights w
  // [rows, cols] (e4m3 bytes, float scales [ceil(rows / qb), ceil(cols / qb)]), otherwise as gemv_f32 with token t's
  // activations at x[t] (DenseProjection's rows, or the rows MoeExperts routed to an expert): 16 weights per step
  // decoded exactly, each scale block's partial sums scaled into the row's total; a row holding a NaN code gives NaN.
  // Lines are prefetched ahead up to the matrix's last row, past r1 (the next work item's rows).
  void (*gemv_fp8)(const uint8_t* w, const float* scales, int64_t rows, int64_t cols, int64_t qb, int64_t r0,
                   int64_t r1, const float* const* x, int64_t n, float* y, int64_t ldy);
};

// The two tables (defined in the two compilations of src/cpu/isa/dense_projection_kernels.cc).
const DenseKernels& DenseKernelsAvx2();
const DenseKernels& DenseKernelsAvx512();

// The table of the ISA in use (cpu/isa_dispatch.h: CPU and GLM_OPS_ISA, or ForceIsa).
const DenseKernels& ActiveDenseKernels();

}  // namespace glm_ops::cpu
