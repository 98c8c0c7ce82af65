// The table of hot expert-projection kernels one instruction set provides. src/cpu/isa/expert_kernels.cc is
// compiled once per ISA (x86-64-v3 = AVX2/FMA/F16C/BMI2, and that plus AVX-512 F/BW/VL/VNNI/BF16), each copy
// exporting its table; cpu/isa_dispatch.h picks one at load. Raw pointers only: the per-ISA files instantiate no
// standard-library templates that other files also use (docs/onnx-contract.md, "Instruction sets").
#pragma once

#include <cstdint>

#include "cpu/expert_projection.h"

namespace glm_ops::cpu {

// Scratch of the tiled path, sized by the caller: tile [kTileRows * kTileCols], partial [n * kTileRows * 8],
// tail [n * kTileRows], columns [n].
struct TileScratch {
  float* tile;
  float* partial;
  float* tail;
  const float** columns;
};
constexpr int64_t kTileRows = kProjectionRowQuantum;
constexpr int64_t kTileCols = 256;

struct ExpertKernels {
  const char* isa;  // "avx2" or "avx512"
  // Register-decoded float path (float32, bf16, FP8) for 1..kDirectMaxTokens tokens.
  void (*project_direct)(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* x, int64_t n, float* y,
                         int64_t ldy);
  // Decoded-tile path, any format and token count.
  void (*project_tiled)(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* x, int64_t n, float* y,
                        int64_t ldy, const TileScratch& scratch);
  // bf16 weights against pair-ordered activations (PairBf16Row), any number of tokens; null where the ISA has no
  // such kernel (AVX2: bf16 takes project_direct / project_tiled).
  void (*project_bf16_pairs)(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* xp, int64_t n,
                             float* y, int64_t ldy, const NextRows& next);
  // PairBf16Row's arithmetic (null with project_bf16_pairs).
  void (*pair_bf16)(const float* x, int64_t cols, float* out);
};

// The two tables (defined in the two compilations of src/cpu/isa/expert_kernels.cc).
const ExpertKernels& ExpertKernelsAvx2();
const ExpertKernels& ExpertKernelsAvx512();

// The AVX-512 table's bf16 kernels (src/cpu/isa/expert_bf16_kernels.cc, AVX-512 compilation only).
void ProjectBf16PairsAvx512(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* xp, int64_t n,
                            float* y, int64_t ldy, const NextRows& next);
void PairBf16Avx512(const float* x, int64_t cols, float* out);

}  // namespace glm_ops::cpu
