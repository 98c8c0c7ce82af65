// DenseProjection's AMX int8 / int4 kernel (cpu/dense_projection_int_amx.h). The AMX code exists in the AVX-512
// compilation only (GLM_OPS_ISA_AVX512, plus the AMX target below); the AVX2 compilation is empty.
#include "cpu/amx_tile_config.h"
#include "cpu/dense_projection_int_amx.h"

#if defined(GLM_OPS_ISA_AVX512)
#pragma GCC target("amx-tile,amx-int8")
// GCC 12's 512-bit intrinsics pass _mm512_undefined_*() as an unused merge source (as in dense_projection_kernels.cc).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#endif

namespace glm_ops::cpu {

#if defined(GLM_OPS_ISA_AVX512)
namespace {

// Tile registers: 0-1 the sums (C) of alternate chunks, 2-3 their weights (A: 16 rows x 32 bytes), 4-5 their
// activations (B: 8 rows x 64 bytes).

void LoadTileConfig() {
  AmxTileConfig config;
  for (int i = 0; i < 2; ++i) {
    config.bytes_per_row[i] = 64;
    config.rows[i] = 16;
    config.bytes_per_row[2 + i] = 32;
    config.rows[2 + i] = 16;
    config.bytes_per_row[4 + i] = 64;
    config.rows[4 + i] = 8;
  }
  _tile_loadconfig(&config);
}

// Tells the compiler that memory written before it may be read by the tile loads after it (GCC's _tile_loadd has no
// memory operand).
inline void CompilerBarrier() { __asm__ volatile("" ::: "memory"); }

void LayoutTokens(const int8_t* q, int64_t q_stride, const float* scales, int64_t chunk_stride, int64_t chunks,
                  int64_t n, int64_t tile0, int64_t tile1, int32_t* b, float* b_scales) {
  for (int64_t tile = tile0; tile < tile1; ++tile) {
    int32_t* bt = b + tile * chunks * kIntAmxChunkWords;
    float* st = b_scales + tile * chunks * kIntAmxTileTokens;
    for (int64_t j = 0; j < kIntAmxTileTokens; ++j) {
      const int64_t t = tile * kIntAmxTileTokens + j;
      if (t >= n) {
        for (int64_t c = 0; c < chunks; ++c) {
          for (int64_t k = 0; k < 8; ++k) bt[c * kIntAmxChunkWords + k * kIntAmxTileTokens + j] = 0;
          st[c * kIntAmxTileTokens + j] = 0.0f;
        }
        continue;
      }
      const int8_t* qt = q + t * q_stride;
      for (int64_t c = 0; c < chunks; ++c) {
        int32_t words[8];
        std::memcpy(words, qt + 32 * c, sizeof words);
        for (int64_t k = 0; k < 8; ++k) bt[c * kIntAmxChunkWords + k * kIntAmxTileTokens + j] = words[k];
        st[c * kIntAmxTileTokens + j] = scales[t * chunk_stride + c];
      }
    }
  }
}

// The float weight scales of rows [n0, n0 + 16) per chunk (G 32): ws[r * chunks + c] (0 past the matrix).
void PanelScales(const IntWeight& w, int64_t n0, int64_t chunks, float* ws) {
  for (int64_t r = 0; r < kIntAmxPanelRows; ++r) {
    float* out = ws + r * chunks;
    if (n0 + r >= w.rows) {
      std::memset(out, 0, static_cast<size_t>(chunks) * sizeof(float));
      continue;
    }
    const uint16_t* s = w.scales + (n0 + r) * w.scale_cols;  // G 32: one scale per chunk
    int64_t c = 0;
    for (; c + 16 <= chunks; c += 16)
      _mm512_storeu_ps(out + c, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + c))));
    if (c < chunks) {
      const __mmask16 m = static_cast<__mmask16>((1u << (chunks - c)) - 1);
      _mm512_mask_storeu_ps(out + c, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, s + c)));
    }
  }
}

// Rows [n0, n0 + 16) of an int4 weight into a (row stride chunks * 32) as signed bytes q = nibble - 8, per 8 columns
// 0, 2, 4, 6, 1, 3, 5, 7 (quantize_columns' int4 order: the low nibbles of 4 stored bytes, then their high nibbles);
// 64 stored bytes (4 chunks) at a time. Columns past the row meet zero activations; rows past the matrix are zero.
void UnpackInt4Rows(const IntWeight& w, int64_t n0, int64_t chunks, int8_t* a) {
  const int64_t ld = chunks * 32, packed = chunks * 16;
  const __m512i mask = _mm512_set1_epi8(0x0F), eight = _mm512_set1_epi8(8);
  const __m512i first = _mm512_setr_epi64(0, 1, 8, 9, 2, 3, 10, 11), second = _mm512_setr_epi64(4, 5, 12, 13, 6, 7, 14, 15);
  for (int64_t r = 0; r < kIntAmxPanelRows; ++r) {
    int8_t* out = a + r * ld;
    if (n0 + r >= w.rows) {
      std::memset(out, 0, static_cast<size_t>(ld));
      continue;
    }
    const uint8_t* row = w.data + (n0 + r) * w.row_bytes;
    for (int64_t i = 0; i < packed; i += 64) {
      const int64_t have = w.row_bytes - i;
      const __m512i v = have >= 64 ? _mm512_loadu_si512(row + i)
                                   : _mm512_maskz_loadu_epi8(have > 0 ? (uint64_t{1} << have) - 1 : 0, row + i);
      const __m512i lo = _mm512_and_si512(v, mask), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), mask);
      const __m512i l = _mm512_unpacklo_epi32(lo, hi), h = _mm512_unpackhi_epi32(lo, hi);  // per chunk: bytes 0-15, 16-31
      const __m512i o0 = _mm512_sub_epi8(_mm512_permutex2var_epi64(l, first, h), eight);
      const __m512i o1 = _mm512_sub_epi8(_mm512_permutex2var_epi64(l, second, h), eight);
      const int64_t room = ld - 2 * i;  // bytes of this row left in a: 32 per chunk
      if (room >= 128) {
        _mm512_storeu_si512(out + 2 * i, o0);
        _mm512_storeu_si512(out + 2 * i + 64, o1);
      } else {
        _mm512_mask_storeu_epi8(out + 2 * i, room >= 64 ? ~uint64_t{0} : (uint64_t{1} << room) - 1, o0);
        if (room > 64) _mm512_mask_storeu_epi8(out + 2 * i + 64, (uint64_t{1} << (room - 64)) - 1, o1);
      }
    }
  }
}

// Rows [n0, n0 + 16) of an int8 weight into a (row stride chunks * 32), zero past the row and past the matrix: the
// matrix's last rows, where a tile loaded in place would read past its end.
void CopyInt8Rows(const IntWeight& w, int64_t n0, int64_t chunks, int8_t* a) {
  const int64_t ld = chunks * 32;
  for (int64_t r = 0; r < kIntAmxPanelRows; ++r) {
    int8_t* out = a + r * ld;
    std::memset(out, 0, static_cast<size_t>(ld));
    if (n0 + r < w.rows) std::memcpy(out, w.data + (n0 + r) * w.row_bytes, static_cast<size_t>(w.cols));
  }
}

// One chunk's int32 sums (16 rows x 16 tokens, row m at sums + 16 m) into acc[m]: times the activation scales
// as[0..16) (tokens), then times the row's weight scale ws[m * ws_stride] added; the panel kernel's roundings in its
// order, so both kernels give the same floats.
inline void AddScaled(const int32_t* sums, const float* as, const float* ws, int64_t ws_stride, __m512 acc[16]) {
  const __m512 a = _mm512_loadu_ps(as);
#pragma GCC unroll 16
  for (int m = 0; m < 16; ++m)
    acc[m] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_load_si512(sums + 16 * m)), a),
                             _mm512_set1_ps(ws[m * ws_stride]), acc[m]);
}

// acc[m] (row m, lanes = tokens) to y[t * ldy + m] for rows m < rows and tokens t < tokens.
inline void StoreTransposed(const __m512 acc[16], int rows, int64_t tokens, float* y, int64_t ldy) {
  alignas(64) float block[16 * 16];
  for (int m = 0; m < 16; ++m) _mm512_store_ps(block + 16 * m, acc[m]);
  const __m512i column = _mm512_setr_epi32(0, 16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240);
  const __mmask16 keep = static_cast<__mmask16>((1u << rows) - 1);
  for (int64_t t = 0; t < tokens; ++t)
    _mm512_mask_storeu_ps(y + t * ldy, keep, _mm512_i32gather_ps(column, block + t, 4));
}

void Gemm(const IntWeight& w, int64_t p0, int64_t p1, const int32_t* b, const float* b_scales, int64_t n, float* y,
          int64_t ldy, uint8_t* scratch) {
  const int64_t chunks = (w.cols + 31) / 32, ld = chunks * 32;
  const int64_t tiles = (n + kIntAmxTileTokens - 1) / kIntAmxTileTokens;
  int8_t* unpacked = reinterpret_cast<int8_t*>(scratch);
  float* ws = reinterpret_cast<float*>(scratch + kIntAmxPanelRows * ld);
  alignas(64) int32_t sums[2][256];
  LoadTileConfig();
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t n0 = p * kIntAmxPanelRows;
    const int rows = static_cast<int>(w.rows - n0 < kIntAmxPanelRows ? w.rows - n0 : kIntAmxPanelRows);
    PanelScales(w, n0, chunks, ws);
    const int8_t* a = unpacked;
    int64_t lda = ld;
    // int8 in place, unless the tiles would read past the matrix's end (its last panel, short or with a partial
    // last chunk: a partial chunk of another row reads on into the next row, whose bytes meet zero activations).
    if (!w.int4 && n0 + kIntAmxPanelRows <= w.rows && (w.cols % 32 == 0 || n0 + kIntAmxPanelRows < w.rows)) {
      a = reinterpret_cast<const int8_t*>(w.data + n0 * w.row_bytes);
      lda = w.row_bytes;
    } else if (w.int4) {
      UnpackInt4Rows(w, n0, chunks, unpacked);
    } else {
      CopyInt8Rows(w, n0, chunks, unpacked);
    }
    CompilerBarrier();
    for (int64_t tile = 0; tile < tiles; ++tile) {
      const int32_t* bt = b + tile * chunks * kIntAmxChunkWords;
      const float* st = b_scales + tile * chunks * kIntAmxTileTokens;
      __m512 acc[16];
      for (int m = 0; m < 16; ++m) acc[m] = _mm512_setzero_ps();
      int64_t c = 0;
      for (; c + 2 <= chunks; c += 2) {
        _tile_zero(0);
        _tile_loadd(2, a + 32 * c, lda);
        _tile_loadd(4, bt + c * kIntAmxChunkWords, 64);
        _tile_dpbssd(0, 2, 4);
        _tile_zero(1);
        _tile_loadd(3, a + 32 * (c + 1), lda);
        _tile_loadd(5, bt + (c + 1) * kIntAmxChunkWords, 64);
        _tile_dpbssd(1, 3, 5);
        _tile_stored(0, sums[0], 64);
        _tile_stored(1, sums[1], 64);
        AddScaled(sums[0], st + c * kIntAmxTileTokens, ws + c, chunks, acc);
        AddScaled(sums[1], st + (c + 1) * kIntAmxTileTokens, ws + c + 1, chunks, acc);
      }
      if (c < chunks) {
        _tile_zero(0);
        _tile_loadd(2, a + 32 * c, lda);
        _tile_loadd(4, bt + c * kIntAmxChunkWords, 64);
        _tile_dpbssd(0, 2, 4);
        _tile_stored(0, sums[0], 64);
        AddScaled(sums[0], st + c * kIntAmxTileTokens, ws + c, chunks, acc);
      }
      const int64_t t0 = tile * kIntAmxTileTokens;
      StoreTransposed(acc, rows, n - t0 < kIntAmxTileTokens ? n - t0 : kIntAmxTileTokens, y + t0 * ldy + n0, ldy);
    }
  }
  _tile_release();
}

}  // namespace

const DenseIntAmxKernels& DenseIntAmxKernelsAvx512() {
  static const DenseIntAmxKernels table{&LayoutTokens, &Gemm};
  return table;
}
#endif

}  // namespace glm_ops::cpu
