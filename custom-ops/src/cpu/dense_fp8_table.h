// Block-FP8 weights at one or two tokens through a byte table (src/cpu/isa/dense_fp8_table.cc): on AVX-512 CPUs with
// VBMI, each 64-byte line of e4m3 codes becomes 64 exact bfloat16 weights in two table lookups, about half the
// instructions of the float16 decoder gemv_fp8 otherwise uses (cpu/dense_projection_kernels.h). Same arithmetic
// (float32 products of exact weights, per-block sums times the block scale), another summation order.
#pragma once

#include <cstdint>

namespace glm_ops::cpu {

constexpr int64_t kFp8TableMaxTokens = 2;

// Whether the table kernel takes `tokens` tokens at quant block qb: the CPU has AVX512_VBMI, the kernel is enabled
// (SetFp8TableEnabled), 1..kFp8TableMaxTokens tokens, qb a multiple of 64 (GLM-5.2's 128). The caller has chosen the
// AVX-512 kernels (defined in that compilation only).
bool Fp8TableApplies(int64_t tokens, int64_t qb);

// Turns the table kernel on (the default) or off process-wide, so that tests reach the float16 decoder's one- and
// two-token kernels on a VBMI CPU too; returns the previous setting.
bool SetFp8TableEnabled(bool enabled);
bool Fp8TableEnabled();  // (src/cpu/dense_fp8_table.cc, outside the per-ISA files: no std::atomic there)

// gemv_fp8's contract (cpu/dense_projection_kernels.h) where Fp8TableApplies(n, qb).
void GemvFp8TableAvx512(const uint8_t* w, const float* scales, int64_t rows, int64_t cols, int64_t qb, int64_t r0,
                        int64_t r1, const float* const* x, int64_t n, float* y, int64_t ldy);

}  // namespace glm_ops::cpu
