// The register-blocked micro-kernel of DenseProjection's many-token GEMM (cpu/dense_projection_gemm.h), compiled once
// per instruction set (src/cpu/isa/dense_gemm_kernels.cc): AVX2 runs 6 tokens over a 16-row panel as 12 ymm
// accumulators (two 8-row halves per token), AVX-512 12 tokens as 12 zmm accumulators (the panel's 16 rows in one
// vector), so one weight load feeds 12 FMAs of twice the width. Each (token, row) sum runs over the panel's columns
// in order by one FMA chain in both, so the two give the same bits. Picked by cpu/isa_dispatch.h's ActiveIsa().
#pragma once

#include <cstdint>

namespace glm_ops::cpu {

// Output rows of a packed panel: packed[k * kDenseGemmPanelRows + j] is row j's weight in column k.
constexpr int kDenseGemmPanelRows = 16;

struct DenseGemmKernels {
  const char* isa;  // "avx2" or "avx512"
  // Tokens per micro-kernel call.
  int64_t token_block;
  // acc[t * 16 + j] += sum_{k < count} packed[k * 16 + j] * x[k * token_block + t] for t < token_block, j < 16,
  // the sum taken in column order (x: the block's activations column-major).
  void (*panel)(const float* packed, int64_t count, const float* x, float* acc);
};

// The two tables (defined in the two compilations of src/cpu/isa/dense_gemm_kernels.cc).
const DenseGemmKernels& DenseGemmKernelsAvx2();
const DenseGemmKernels& DenseGemmKernelsAvx512();

// The table of the ISA in use (cpu/isa_dispatch.h: CPU and GLM_OPS_ISA, or ForceIsa).
const DenseGemmKernels& ActiveDenseGemmKernels();

}  // namespace glm_ops::cpu
