// DenseProjection's AMX bf16 kernel (cpu/dense_projection_amx.h). The AMX code exists in the AVX-512 compilation
// only (GLM_OPS_ISA_AVX512, plus the AMX target below); the AVX2 compilation is empty.
#include "cpu/amx_tile_config.h"
#include "cpu/dense_projection_amx.h"

#if defined(GLM_OPS_ISA_AVX512)
#pragma GCC target("amx-tile,amx-bf16")
// GCC 12's 512-bit intrinsics pass _mm512_undefined_*() as an unused merge source (as in dense_projection_kernels.cc).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "cpu/simd.h"
#include "cpu/weight_decode.h"
#endif

namespace glm_ops::cpu {

#if defined(GLM_OPS_ISA_AVX512)
namespace {

// Tile registers: 0-3 the sums (C), 4-5 weights (A), 6-7 activations (B); every tile 16 rows x 64 bytes.

void LoadTileConfig() {
  const AmxTileConfig config = UniformTileConfig(8, 16, 64);
  _tile_loadconfig(&config);
}

static_assert(kAmxTileColumns == 32, "one simd::SplitBf16x32 per 32-column block");

// One token tile: for each 32-column block, the hi and lo bf16 terms (simd::SplitBf16x32, as SplitBf16Activations) of
// each token, then written transposed: word (p, j) = token j's column pair p.
void SplitBf16Amx(const float* x, int64_t n, int64_t ldx, int64_t cols, int64_t tile0, int64_t tile1, uint32_t* b) {
  const int64_t blocks = cols / kAmxTileColumns;
  for (int64_t tile = tile0; tile < tile1; ++tile) {
    uint32_t* bt = b + tile * blocks * 2 * kAmxTileWords;
    for (int64_t j = 0; j < kAmxTileTokens; ++j) {
      const int64_t t = tile * kAmxTileTokens + j;
      if (t >= n) {
        for (int64_t kb = 0; kb < blocks; ++kb)
          for (int64_t p = 0; p < 2 * 16; ++p) bt[kb * 2 * kAmxTileWords + p * 16 + j] = 0;
        continue;
      }
      const float* xt = x + t * ldx;
      for (int64_t kb = 0; kb < blocks; ++kb) {
        __m512i hi, lo;
        simd::SplitBf16x32(xt + kb * kAmxTileColumns, hi, lo);
        alignas(64) uint32_t words[32];
        _mm512_store_si512(words, hi);
        _mm512_store_si512(words + 16, lo);
        uint32_t* dst = bt + kb * 2 * kAmxTileWords + j;  // hi tile, then lo tile (16 x 16 words each)
        for (int p = 0; p < 32; ++p) dst[p * 16] = words[p];
      }
    }
  }
}

// 32 rows (A tiles 4 and 5, `ldw` bytes apart) x one or two token tiles (b0, b1: 2 x kAmxTileWords words per
// 32-column block) over `blocks` blocks, into tiles 0-3: tile 0 = rows 0-15 x b0, 1 = rows 0-15 x b1, 2 = rows
// 16-31 x b0, 3 = rows 16-31 x b1.
template <bool kTwo>
void Block(const uint16_t* w, int64_t ldw, int64_t blocks, const uint32_t* b0, const uint32_t* b1, float* c) {
  _tile_zero(0);
  _tile_zero(2);
  if (kTwo) {
    _tile_zero(1);
    _tile_zero(3);
  }
  const uint16_t* w1 = reinterpret_cast<const uint16_t*>(reinterpret_cast<const char*>(w) + 16 * ldw);
  for (int64_t kb = 0; kb < blocks; ++kb) {
    const int64_t o = kb * 2 * kAmxTileWords;
    _tile_loadd(4, w + kb * kAmxTileColumns, ldw);
    _tile_loadd(5, w1 + kb * kAmxTileColumns, ldw);
    _tile_loadd(6, b0 + o, 64);
    if (kTwo) _tile_loadd(7, b1 + o, 64);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(2, 5, 6);
    if (kTwo) {
      _tile_dpbf16ps(1, 4, 7);
      _tile_dpbf16ps(3, 5, 7);
    }
    _tile_loadd(6, b0 + o + kAmxTileWords, 64);
    if (kTwo) _tile_loadd(7, b1 + o + kAmxTileWords, 64);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(2, 5, 6);
    if (kTwo) {
      _tile_dpbf16ps(1, 4, 7);
      _tile_dpbf16ps(3, 5, 7);
    }
  }
  _tile_stored(0, c, 64);
  _tile_stored(2, c + 2 * kAmxTileWords, 64);
  if (kTwo) {
    _tile_stored(1, c + kAmxTileWords, 64);
    _tile_stored(3, c + 3 * kAmxTileWords, 64);
  }
}

void GemmBf16Amx(const uint16_t* w, int64_t cols, int64_t rows, int64_t r0, int64_t r1, const uint32_t* b,
                 const float* x, int64_t ldx, int64_t n, float* y, int64_t ldy, uint16_t* pad) {
  const int64_t blocks = cols / kAmxTileColumns, whole = blocks * kAmxTileColumns;
  const int64_t tiles = (n + kAmxTileTokens - 1) / kAmxTileTokens;
  const int64_t tile_words = blocks * 2 * kAmxTileWords;
  const int64_t ldw = cols * 2;
  alignas(64) float c[4 * kAmxTileWords];
  LoadTileConfig();
  for (int64_t rb = r0; rb < r1; rb += kAmxBlockRows) {
    const uint16_t* wb = w + rb * cols;
    if (rb + kAmxBlockRows > rows) {  // the matrix's last rows: a zero-padded copy, so no tile reads past its end
      std::memcpy(pad, wb, static_cast<size_t>((rows - rb) * cols) * sizeof(uint16_t));
      std::memset(pad + (rows - rb) * cols, 0, static_cast<size_t>((rb + kAmxBlockRows - rows) * cols) * sizeof(uint16_t));
      wb = pad;
    }
    const int64_t valid_rows = (r1 - rb < kAmxBlockRows ? r1 - rb : kAmxBlockRows);
    for (int64_t tile = 0; tile < tiles; tile += 2) {
      const bool two = tile + 1 < tiles;
      const uint32_t* b0 = b + tile * tile_words;
      if (two)
        Block<true>(wb, ldw, blocks, b0, b0 + tile_words, c);
      else
        Block<false>(wb, ldw, blocks, b0, nullptr, c);
      for (int64_t half = 0; half < (two ? 2 : 1); ++half)
        for (int64_t m = 0; m < valid_rows; ++m) {
          const float* cm = c + ((m / 16) * 2 + half) * kAmxTileWords + (m % 16) * 16;
          const uint16_t* row = w + (rb + m) * cols;
          for (int64_t jj = 0; jj < kAmxTileTokens; ++jj) {
            const int64_t t = (tile + half) * kAmxTileTokens + jj;
            if (t >= n) break;
            float tail = 0.0f;  // columns past the last whole block: float32 activations, as the other kernels
            for (int64_t col = whole; col < cols; ++col) tail += DecodeBf16(row[col]) * x[t * ldx + col];
            y[t * ldy + (rb - r0) + m] = cm[jj] + tail;
          }
        }
    }
  }
  _tile_release();
}

}  // namespace

const DenseAmxKernels& DenseAmxKernelsAvx512() {
  static const DenseAmxKernels table{&SplitBf16Amx, &GemmBf16Amx};
  return table;
}
#endif

}  // namespace glm_ops::cpu
