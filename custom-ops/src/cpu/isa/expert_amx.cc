// MoeExperts' AMX bf16 kernel (cpu/expert_amx.h). The AMX code exists in the AVX-512 compilation only
// (GLM_OPS_ISA_AVX512, plus the AMX target below); the AVX2 compilation is empty.
#include "cpu/amx_tile_config.h"
#include "cpu/expert_amx.h"

#if defined(GLM_OPS_ISA_AVX512)
#pragma GCC target("amx-tile,amx-bf16")
// GCC 12's 512-bit intrinsics pass _mm512_undefined_*() as an unused merge source (as in expert_kernels.cc).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "cpu/simd.h"
#include "cpu/weight_decode.h"
#endif

namespace glm_ops::cpu {

#if defined(GLM_OPS_ISA_AVX512)
namespace {

// Blocks (64 bytes of each row) the weight prefetch into L2 runs ahead of the A tile loads.
constexpr int64_t kPrefetchBlocks = 4;

// Tile registers: 0 the sums (C), 4-5 activations (B), 6-7 weights (A); every tile 16 rows x 64 bytes.

void LoadTileConfig() {
  const AmxTileConfig config = UniformTileConfig(8, 16, 64);
  _tile_loadconfig(&config);
}

static_assert(kExpertAmxTileColumns == 32, "one simd::SplitBf16x32 per 32-column block");

void SplitAmx(const float* const* x, int64_t n, int64_t cols, uint32_t* b) {
  const int64_t blocks = cols / kExpertAmxTileColumns;
  const int64_t tiles = (n + kExpertAmxTileTokens - 1) / kExpertAmxTileTokens;
  for (int64_t tile = 0; tile < tiles; ++tile) {
    uint32_t* bt = b + tile * blocks * kExpertAmxTileWords;
    for (int64_t j = 0; j < kExpertAmxTileTokens; ++j) {
      const int64_t t = tile * kExpertAmxTileTokens + j;
      if (t >= n) {
        for (int64_t kb = 0; kb < blocks; ++kb)
          for (int64_t p = 0; p < 16; ++p) {
            bt[kb * kExpertAmxTileWords + p * 16 + j] = 0;
            bt[kb * kExpertAmxTileWords + p * 16 + kExpertAmxTileTokens + j] = 0;
          }
        continue;
      }
      for (int64_t kb = 0; kb < blocks; ++kb) {
        __m512i hi, lo;
        simd::SplitBf16x32(x[t] + kb * kExpertAmxTileColumns, hi, lo);
        alignas(64) uint32_t words[32];
        _mm512_store_si512(words, hi);
        _mm512_store_si512(words + 16, lo);
        uint32_t* dst = bt + kb * kExpertAmxTileWords + j;  // row p: lane j = hi pair p, lane 8 + j = lo pair p
        for (int p = 0; p < 16; ++p) {
          dst[p * 16] = words[p];
          dst[p * 16 + kExpertAmxTileTokens] = words[16 + p];
        }
      }
    }
  }
}

// One 32-column block kb: its B tile into register BREG (4 or 5, alternating between blocks: tile registers are not
// renamed, so the next block's loads need not wait for this block's product), the 16 rows' A tile into ABREG (6 or
// 7), one TDPBF16PS into C (tile 0). A macro: the tile intrinsics take register numbers as literals.
#define GLM_EXPERT_AMX_STEP(BREG, AREG, kb)                                                    \
  do {                                                                                         \
    if ((kb) + kPrefetchBlocks < prefetch_end)                                                 \
      for (int m = 0; m < kExpertAmxBlockRows; ++m)                                            \
        _mm_prefetch(reinterpret_cast<const char*>(a + ((kb) + kPrefetchBlocks) * kExpertAmxTileColumns) + m * lda, \
                     _MM_HINT_T1);                                                             \
    _tile_loadd(BREG, b + (kb) * kExpertAmxTileWords, 64);                                     \
    _tile_loadd(AREG, a + (kb) * kExpertAmxTileColumns, lda);                                  \
    _tile_dpbf16ps(0, AREG, BREG);                                                             \
  } while (false)

// 16 weight rows (a, row stride lda bytes) x one token tile (b: kExpertAmxTileWords per block) over `blocks` blocks,
// stored to c (kExpertAmxTileWords floats: row m, lane j at m * 16 + j). The weights are prefetched into L2
// kPrefetchBlocks blocks ahead while that is below prefetch_end.
void Block(const uint16_t* a, int64_t lda, int64_t blocks, const uint32_t* b, float* c, int64_t prefetch_end) {
  _tile_zero(0);
  int64_t kb = 0;
  for (; kb + 1 < blocks; kb += 2) {
    GLM_EXPERT_AMX_STEP(4, 6, kb);
    GLM_EXPERT_AMX_STEP(5, 7, kb + 1);
  }
  if (kb < blocks) GLM_EXPERT_AMX_STEP(4, 6, kb);
  _tile_stored(0, c, 64);
}

// The same over two token tiles (b0, b1) at once, sharing each A tile load: C tiles 0 and 1, B tiles 2 / 3 and 4 / 5
// alternating between blocks with the A tile (6 / 7); stored to c0 and c1.
#define GLM_EXPERT_AMX_STEP2(B0REG, B1REG, AREG, kb)                                          \
  do {                                                                                         \
    if ((kb) + kPrefetchBlocks < prefetch_end)                                                 \
      for (int m = 0; m < kExpertAmxBlockRows; ++m)                                            \
        _mm_prefetch(reinterpret_cast<const char*>(a + ((kb) + kPrefetchBlocks) * kExpertAmxTileColumns) + m * lda, \
                     _MM_HINT_T1);                                                             \
    _tile_loadd(AREG, a + (kb) * kExpertAmxTileColumns, lda);                                  \
    _tile_loadd(B0REG, b0 + (kb) * kExpertAmxTileWords, 64);                                   \
    _tile_dpbf16ps(0, AREG, B0REG);                                                            \
    _tile_loadd(B1REG, b1 + (kb) * kExpertAmxTileWords, 64);                                   \
    _tile_dpbf16ps(1, AREG, B1REG);                                                            \
  } while (false)

void Block2(const uint16_t* a, int64_t lda, int64_t blocks, const uint32_t* b0, const uint32_t* b1, float* c0,
            float* c1, int64_t prefetch_end) {
  _tile_zero(0);
  _tile_zero(1);
  int64_t kb = 0;
  for (; kb + 1 < blocks; kb += 2) {
    GLM_EXPERT_AMX_STEP2(2, 3, 6, kb);
    GLM_EXPERT_AMX_STEP2(4, 5, 7, kb + 1);
  }
  if (kb < blocks) GLM_EXPERT_AMX_STEP2(2, 3, 6, kb);
  _tile_stored(0, c0, 64);
  _tile_stored(1, c1, 64);
}

#undef GLM_EXPERT_AMX_STEP
#undef GLM_EXPERT_AMX_STEP2

void ProjectAmx(const WeightMatrix& w, int64_t r0, int64_t r1, const uint32_t* b, const float* const* x, int64_t n,
                float* y, int64_t ldy, uint16_t* pad) {
  const int64_t cols = w.cols, blocks = cols / kExpertAmxTileColumns, whole = blocks * kExpertAmxTileColumns;
  const int64_t tiles = (n + kExpertAmxTileTokens - 1) / kExpertAmxTileTokens;
  const int64_t tile_words = blocks * kExpertAmxTileWords;
  const int64_t lda = w.row_bytes;  // cols * 2
  const uint16_t* base = static_cast<const uint16_t*>(w.data);
  alignas(64) float c[2 * kExpertAmxTileWords];
  if (blocks > 0) LoadTileConfig();
  for (int64_t rb = r0; rb < r1; rb += kExpertAmxBlockRows) {
    const int64_t rows = r1 - rb < kExpertAmxBlockRows ? r1 - rb : kExpertAmxBlockRows;
    const uint16_t* a = base + rb * cols;
    int64_t prefetch_end = blocks;
    if (rb + kExpertAmxBlockRows > w.rows && blocks > 0) {  // the matrix's last rows: a zero-padded copy
      std::memcpy(pad, a, static_cast<size_t>((w.rows - rb) * cols) * sizeof(uint16_t));
      std::memset(pad + (w.rows - rb) * cols, 0,
                  static_cast<size_t>((rb + kExpertAmxBlockRows - w.rows) * cols) * sizeof(uint16_t));
      a = pad;
      prefetch_end = 0;
    }
    for (int64_t tile = 0; tile < tiles && blocks > 0; tile += 2) {
      // Token tiles two at a time; later pairs find the rows in L2: no prefetch there.
      const bool two = tile + 1 < tiles;
      const uint32_t* bt = b + tile * tile_words;
      if (two)
        Block2(a, lda, blocks, bt, bt + tile_words, c, c + kExpertAmxTileWords, tile == 0 ? prefetch_end : 0);
      else
        Block(a, lda, blocks, bt, c, tile == 0 ? prefetch_end : 0);
      for (int64_t half = 0; half < (two ? 2 : 1); ++half) {
        const float* ch = c + half * kExpertAmxTileWords;
        const int64_t t0 = (tile + half) * kExpertAmxTileTokens;
        const int64_t count = n - t0 < kExpertAmxTileTokens ? n - t0 : kExpertAmxTileTokens;
        for (int64_t m = 0; m < rows; ++m)
          for (int64_t j = 0; j < count; ++j)
            y[(t0 + j) * ldy + (rb - r0) + m] = ch[m * 16 + j] + ch[m * 16 + kExpertAmxTileTokens + j];
      }
    }
    if (whole < cols) {  // columns past the last whole block: float32 activations, as the other kernels
      for (int64_t m = 0; m < rows; ++m) {
        const uint16_t* row = base + (rb + m) * cols;
        for (int64_t t = 0; t < n; ++t) {
          float tail = 0.0f;
          for (int64_t col = whole; col < cols; ++col) tail += DecodeBf16(row[col]) * x[t][col];
          float* dst = y + t * ldy + (rb - r0) + m;
          *dst = blocks > 0 ? *dst + tail : tail;
        }
      }
    }
  }
  if (blocks > 0) _tile_release();
}

}  // namespace

const ExpertAmxKernels& ExpertAmxKernelsAvx512() {
  static const ExpertAmxKernels table{&SplitAmx, &ProjectAmx};
  return table;
}
#endif

}  // namespace glm_ops::cpu
