// DenseProjection's many-token int8 / int4 kernel on Intel AMX (AMX-TILE + AMX-INT8: Sapphire Rapids and later),
// beside the vpdpbusd packed panels of cpu/dense_projection_int_kernels.h, with the same arithmetic: the activations
// as quantize_columns writes them (int8 per 32-column chunk, int4 widths in the panels' column order) and per chunk
// an exact int32 sum, scaled by the chunk's activation scale times the row's group scale and added in float32.
//
// Tiles (TDPBSSD, signed x signed, K = 32 columns = one chunk per instruction, so every C tile holds one chunk's
// sums): A = 16 weight rows x 32 bytes, int8 loaded in place from the [out, in] matrix (row stride in bytes), int4
// unpacked once per panel into the thread's scratch as signed bytes (nibble - 8) in the activations' column order;
// B = one chunk of 16 tokens in the VNNI layout (8 rows of 16 tokens x 4 bytes: row k, token j = token j's columns
// 4k .. 4k + 3), laid out once per call by layout_tokens; C = 16 rows x 16 tokens of int32 sums, stored, converted
// and added into 16 float32 vectors (one per weight row, lanes = tokens) with the outer product of the scales; two C
// tiles take alternate chunks so one chunk's TDPBSSD runs while the other's sums are scaled.
// Compiled in the AVX-512 copy of src/cpu/isa/dense_projection_int_amx.cc only (the AVX2 table is empty).
#pragma once

#include <cstdint>

#include "cpu/dense_projection_int_kernels.h"

namespace glm_ops::cpu {

// Tokens per B tile and weight rows per A tile (one work item of the kernel).
constexpr int64_t kIntAmxTileTokens = 16;
constexpr int64_t kIntAmxPanelRows = 16;

// int32 words of one token tile's B operand per 32-column chunk (8 rows x 16 tokens).
constexpr int64_t kIntAmxChunkWords = 128;

// Scratch of one work item for a weight of `cols` columns: 16 unpacked rows of ceil(cols / 32) * 32 bytes, then
// their 16 x chunks float scales (64-byte aligned by the caller).
constexpr int64_t IntAmxScratchBytes(int64_t cols) {
  return kIntAmxPanelRows * ((cols + 31) / 32) * 32 + kIntAmxPanelRows * ((cols + 31) / 32) * 4;
}

struct DenseIntAmxKernels {
  // Token tiles [tile0, tile1) of n tokens' quantize_columns output (token t: q + t * q_stride, scales + t *
  // chunk_stride) into b (per tile, per chunk, kIntAmxChunkWords words) and b_scales (per tile, per chunk, 16
  // floats); tokens past n as zeros.
  void (*layout_tokens)(const int8_t* q, int64_t q_stride, const float* scales, int64_t chunk_stride, int64_t chunks,
                        int64_t n, int64_t tile0, int64_t tile1, int32_t* b, float* b_scales);
  // y[t * ldy + r] for rows r in [p0 * 16, min(p1 * 16, rows)) and tokens t < n, from layout_tokens' b / b_scales of
  // all n tokens; weights in groups of 32 columns (w.group == 32). scratch: IntAmxScratchBytes(w.cols) bytes, 64-byte aligned.
  void (*gemm)(const IntWeight& w, int64_t p0, int64_t p1, const int32_t* b, const float* b_scales, int64_t n,
               float* y, int64_t ldy, uint8_t* scratch);
};

// The table of the AVX-512 compilation (the AVX2 compilation has no AMX code).
const DenseIntAmxKernels& DenseIntAmxKernelsAvx512();

// Whether the AMX int kernel may run now: AMX enabled (cpu/amx_support.h: AMX-TILE, AMX-BF16, the tile state granted,
// GLM_OPS_AMX not "off"), the CPU reports AMX-INT8, and the AVX-512 kernels are active.
bool IntAmxUsable();

}  // namespace glm_ops::cpu
