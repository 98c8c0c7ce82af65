// DenseProjection's integer kernels (int8 / int4 weights in the contract's layout, docs/onnx-contract.md), compiled
// once per instruction set (src/cpu/isa/dense_projection_int_kernels.cc) like the other kernel tables; the table is
// picked by cpu/isa_dispatch.h's ActiveIsa(). Raw pointers only (no standard-library templates in the per-ISA file).
//
// The arithmetic is llama.cpp's q8_0 x q8_0 / q4_0 x q8_0 dot product on this project's layout: each token's
// activations are quantized once per call to int8 per chunk of 32 columns (scale = max|x| / 127, round to nearest
// even), and a kernel step multiplies one vector of stored weight bytes by the token's bytes with one byte dot
// product per 4 columns into int32 lanes (AVX-512 VNNI `vpdpbusd`; AVX2 `vpmaddubsw` + `vpmaddwd`), each lane then
// converted to float and scaled by its chunk's activation scale times its weight group's float16 scale.
// The unsigned operand is the weight: int8 as q + 128 (one xor per weight vector, shared by every token), int4 as its
// stored nibble q + 8; the offsets this adds (128 or 8 times the sum of the lane's activations) are the activations'
// own, so they are computed once per call (`bias`) and start each lane's sum. AVX2's vpmaddubsw would saturate on
// q + 128, so the AVX2 int8 step moves the weights' signs onto the activations instead (|q| x sign(x, q), no bias).
//
// Activation layout per token (QuantizeTokenInt), `step` columns at a time (int8: 64 on AVX-512, 32 on AVX2; int4:
// 128 / 64): q holds the step's bytes in column order (int8) or its even columns, then its odd ones (int4: the low
// and high nibbles of the step's weight bytes); bias and scales hold one int32 / float per int32 lane of the step
// (16 / 8 lanes), lane i covering the step's columns [i * step / lanes, (i + 1) * step / lanes).
#pragma once

#include <cstdint>

namespace glm_ops::cpu {

// One [rows, cols] int8 or int4 weight in the contract's layout.
struct IntWeight {
  const uint8_t* data;
  const uint16_t* scales;  // float16 bits [rows, scale_cols]
  int64_t rows, cols, row_bytes, scale_cols, group;
  bool int4;
};

// n tokens' quantized activations (QuantizeTokenInt), token t at q + t * q_stride and bias / scales + t * lane_stride.
struct IntTokens {
  const int8_t* q;
  const int32_t* bias;
  const float* scales;
  int64_t q_stride, lane_stride;
};

// Tokens one kernel call takes at most; callers run more as blocks of this many (an item's rows re-read from L1/L2).
constexpr int64_t kDenseIntMaxTokens = 4;

struct DenseIntKernels {
  const char* isa;
  int64_t lanes;       // int32 lanes per step: 16 (AVX-512) or 8 (AVX2)
  int64_t int8_step;   // columns per step: 64 / 32
  int64_t int4_step;   // 128 / 64
  // Whether the kernels take weights of this format and group G: G 32, or G a multiple of the step's columns.
  bool (*supports)(bool int4, int64_t group);
  // Quantizes x[0..cols) into q [steps * step], bias and scales [steps * lanes]; false when x holds a NaN or an
  // infinity (the caller then multiplies exactly).
  bool (*quantize)(bool int4, const float* x, int64_t cols, int8_t* q, int32_t* bias, float* scales);
  // y[t * ldy + (r - r0)] = sum_c W[r, c] * x_t[c] for r in [r0, r1), t < n (1 <= n <= kDenseIntMaxTokens), with the
  // activations as quantized.
  void (*gemv)(const IntWeight& w, int64_t r0, int64_t r1, const IntTokens& x, int64_t n, float* y, int64_t ldy);

  // The many-token path: weight panels of kIntPanelRows rows, unpacked once per call into [chunk][4-column
  // group][row][4 bytes] (each int32 lane one row; int4 as q + 8, int8 as q + 128 on AVX-512, q itself on AVX2) with
  // their float scales, then every token dotted against a panel with its 4 bytes broadcast, no horizontal sums:
  // AVX-512 vpdpbusd (4 columns x 16 rows per instruction), kIntGemmTokens tokens at a time; AVX2 vpmaddubsw +
  // vpmaddwd over 8 rows (int8 with the weight's sign moved onto the activation byte), 4 (int8) or 6 (int4) tokens
  // at a time. int4 groups hold a chunk's even and odd columns of 8 in turn (isa/dense_projection_int_kernels.cc).
  // Activations for it: quantize_columns writes q [ceil(cols / 32) * 32] in the panel's column order (int8: column
  // order; int4: per 8 columns 0, 2, 4, 6, 1, 3, 5, 7), one scale and one correction (minus the offset the stored
  // weights carry, 8 / 128 / 0 as above, times the chunk's sum of q) per 32-column chunk.
  bool (*quantize_columns)(bool int4, const float* x, int64_t cols, int8_t* q, float* scales, int32_t* corrections);
  // Output rows [p0 * kIntPanelRows, min(p1 * kIntPanelRows, rows)) for n tokens: token t's activations at
  // q + t * q_stride, scales / corrections + t * chunk_stride, rows of the token count rounded up to kIntGemmTokens
  // readable (zero activations). panel: scratch of IntPanelBytes(cols) bytes, 64-byte aligned.
  void (*gemm)(const IntWeight& w, int64_t p0, int64_t p1, const int8_t* q, int64_t q_stride, const float* scales,
               const int32_t* corrections, int64_t chunk_stride, int64_t n, float* y, int64_t ldy, uint8_t* panel);
  // Tokens from which a call takes gemm rather than gemv (int8, int4): below, unpacking the panels costs more than
  // the tokens gain from them (measured, docs/benchmarks.md: AVX-512 16 / 16; AVX2 16 / 96, its int4 row kernel
  // reading nibbles as stored is as fast as the panel up to ~64 tokens).
  int64_t gemm_min_tokens_int8, gemm_min_tokens_int4;
};

constexpr int64_t kIntPanelRows = 16;
constexpr int64_t kIntGemmTokens = 12;

// Bytes of one packed panel: per 32-column chunk, 16 rows x 32 bytes and 16 float scales.
constexpr int64_t IntPanelBytes(int64_t cols) { return (cols + 31) / 32 * (kIntPanelRows * 32 + kIntPanelRows * 4); }

const DenseIntKernels& DenseIntKernelsAvx2();
const DenseIntKernels& DenseIntKernelsAvx512();

// The table of the ISA in use (cpu/isa_dispatch.h).
const DenseIntKernels& ActiveDenseIntKernels();

}  // namespace glm_ops::cpu
