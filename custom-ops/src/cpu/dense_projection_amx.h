// DenseProjection's many-token bf16 kernel on Intel AMX (AMX-TILE + AMX-BF16: Sapphire Rapids and later), beside the
// AVX-512 split-activation kernels of cpu/dense_projection_kernels.h, with the same near-exact arithmetic: each
// activation is split into two bf16 terms (hi = bf16(x), lo = bf16(x - hi)), and every 16 x 16 output tile (16
// weight rows x 16 tokens) sums both terms against the stored bf16 weights with TDPBF16PS (float32 sums).
//
// Tiles: A = 16 weight rows x 32 columns, loaded in place from the [out, in] matrix (row stride in x 2 bytes); B =
// 32 columns x 16 tokens of one term in the VNNI layout (16 rows of 16 column pairs: row p, lane j = token j's
// columns 2p and 2p+1), prepared once per call by split_bf16_amx; C = the 16 x 16 float32 sums. A block of 32 rows
// x 32 tokens keeps its 4 C tiles in registers over the whole width (2 A + 2 B tile loads per 8 TDPBF16PS).
// Compiled in the AVX-512 copy of src/cpu/isa/dense_projection_amx.cc only; used when the CPU has AMX, Linux grants
// the tile state (arch_prctl), the AVX-512 kernels are active, and GLM_OPS_AMX is not "off" (cpu/amx_support.h).
#pragma once

#include <cstdint>

namespace glm_ops::cpu {

// Tokens and columns of one B tile, and the uint32 elements (column pairs x tokens) of one tile of one term.
constexpr int64_t kAmxTileTokens = 16;
constexpr int64_t kAmxTileColumns = 32;
constexpr int64_t kAmxTileWords = 256;
// Output rows per block of the kernel (two A tiles).
constexpr int64_t kAmxBlockRows = 32;

struct DenseAmxKernels {
  // Token tiles [tile0, tile1) of x (n tokens, row stride ldx, `cols` columns) into b: per token tile, per 32-column
  // block kb < cols / 32, the hi tile then the lo tile (2 x kAmxTileWords words); tokens past n are zero.
  // b holds (cols / 32) x 2 x kAmxTileWords words per token tile.
  void (*split_bf16_amx)(const float* x, int64_t n, int64_t ldx, int64_t cols, int64_t tile0, int64_t tile1,
                         uint32_t* b);
  // y[t * ldy + (r - r0)] = sum_c bf16(w[r * cols + c]) * x[t][c] for r in [r0, r1), t < n, from b (split_bf16_amx
  // of all n tokens; columns past the last 32-column block from x in float32). rows: the matrix's row count (blocks
  // reaching past it run on a zero-padded copy in `pad`, kAmxBlockRows x cols elements, the caller's).
  void (*gemm_bf16_amx)(const uint16_t* w, int64_t cols, int64_t rows, int64_t r0, int64_t r1, const uint32_t* b,
                        const float* x, int64_t ldx, int64_t n, float* y, int64_t ldy, uint16_t* pad);
};

// The table of the AVX-512 compilation (the AVX2 compilation of the file is empty: no AMX code).
const DenseAmxKernels& DenseAmxKernelsAvx512();

}  // namespace glm_ops::cpu
