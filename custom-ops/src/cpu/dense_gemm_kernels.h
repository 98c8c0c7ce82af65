// The register-blocked micro-kernels of DenseProjection's many-token GEMM (cpu/dense_projection_gemm.h), compiled
// once per instruction set (src/cpu/isa/dense_gemm_kernels.cc) and picked by cpu/isa_dispatch.h's ActiveIsa().
//
// Row tiles (up to kDenseGemmPanelMinTokens tokens): vector lanes run along the tokens. Per column, each weight row's
// float32 value is broadcast (a plain load from rows decoded in their stored order, or bf16 in pair order: no
// transposed or packed weights) and multiplied into one or two vectors of the tokens' activations, which the GEMM lays
// out column by column once per pass. AVX-512 runs 12 rows x 2 vectors of 16 tokens (24 zmm sums; per column 2
// activation loads, 12 broadcasts, 24 FMAs), AVX2 6 rows x 2 vectors of 8.
//
// Panels (from kDenseGemmPanelMinTokens): vector lanes run along 16 weight rows packed column by column; per column
// one weight vector and one broadcast activation per token feed 12 FMAs (AVX-512: 12 tokens x 16 rows; AVX2: 6 tokens
// x two 8-row halves).
//
// In both, each (token, row) sum is one FMA chain over the columns in order on both ISAs, so the AVX2 and AVX-512
// kernels give the same bits (and the two kernels give the same bits as each other).
#pragma once

#include <cstdint>

namespace glm_ops::cpu {

// Output rows of a packed panel: packed[k * kDenseGemmPanelRows + j] is row j's weight in column k.
constexpr int kDenseGemmPanelRows = 16;

struct DenseGemmKernels {
  const char* isa;  // "avx2" or "avx512"
  // Row tiles: tokens per activation vector (16 or 8), and the most rows and vectors one tile takes.
  int64_t lanes, tile_rows, tile_vectors;
  // For j < rows <= tile_rows, v < vectors <= tile_vectors, i < lanes: acc[j * ld_acc + v * lanes + i] += the
  // products of row j's weight in column c and xt[c * ld_column + v * lanes + i] over c < count, in column order (xt:
  // the tokens' activations column-major, ld_column floats per column). Row j's weights lie at w + j * ldw: in column
  // order, or with `pairs` in decode_bf16_pairs' order. Meanwhile it asks for the lines prefetch[0 .. prefetches)
  // (prefetches <= count), spread evenly over the columns: the weights the caller decodes next arrive while the FMAs
  // run, instead of a burst of requests that holds the core's line-fill buffers.
  void (*tile)(const float* w, int64_t ldw, bool pairs, int64_t rows, const float* xt, int64_t ld_column,
               int64_t vectors, int64_t count, float* acc, int64_t ld_acc, const char* const* prefetch,
               int64_t prefetches);
  // Panels: tokens per micro-kernel call.
  int64_t panel_tokens;
  // acc[t * 16 + j] += sum_{k < count} packed[k * 16 + j] * x[k * panel_tokens + t] for t < panel_tokens, j < 16,
  // the sum taken in column order (x: the block's activations column-major).
  void (*panel)(const float* packed, int64_t count, const float* x, float* acc);
  // dst[c] = bf16 w[c] as float32 for c < count (exact), a vector of weights per step.
  void (*decode_bf16)(const uint16_t* w, int64_t count, float* dst);
  // The same values in pair order: within each whole block of 32 columns from w, its 16 even columns, then its 16
  // odd ones (dst[b + i] = column b + 2i, dst[b + 16 + i] = column b + 2i + 1); the columns past the last whole block
  // in order. Half the decode's work per weight (the row tiles use it for bf16; their sums keep column order).
  void (*decode_bf16_pairs)(const uint16_t* w, int64_t count, float* dst);
};

// The two tables (defined in the two compilations of src/cpu/isa/dense_gemm_kernels.cc).
const DenseGemmKernels& DenseGemmKernelsAvx2();
const DenseGemmKernels& DenseGemmKernelsAvx512();

// The table of the ISA in use (cpu/isa_dispatch.h: CPU and GLM_OPS_ISA, or ForceIsa).
const DenseGemmKernels& ActiveDenseGemmKernels();

}  // namespace glm_ops::cpu
