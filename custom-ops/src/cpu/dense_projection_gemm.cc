#include "cpu/dense_projection_gemm.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/dense_gemm_decode.h"
#include "cpu/dense_gemm_kernels.h"
#include "cpu/dense_gemm_panels.h"
#include "cpu/isa_dispatch.h"
#include "cpu/line_vector.h"

namespace glm_ops::cpu {

namespace {

// Weight rows per work item (two AVX-512 tiles, four AVX2 ones) and columns per decoded chunk: the item's chunk
// (24 x 128 floats, 12 KiB) and a tile's activations (128 columns x 32 tokens, 16 KiB) share L1 while every token
// group of the pass runs over them. (96-row items, their chunk in L2 and each group's activations reused by 8 row
// tiles, took 1.5x as long at 32 tokens.)
constexpr int64_t kItemRows = 24;
constexpr int64_t kChunk = 128;
static_assert(kChunk % 8 == 0, "chunks start on an 8-column boundary, so no vector straddles an FP8 scale block");
static_assert(kItemRows % 12 == 0, "items are whole tiles on both ISAs");
// Lines of one item's chunk at most: 24 rows of 128 float32 columns, 8 lines each.
constexpr int64_t kMaxChunkLines = kItemRows * (kChunk * 4 / 64);
// The activations of one pass at most, laid out column by column per group of tokens (DenseGemmPassTokens).
constexpr int64_t kGemmActivationBytes = int64_t{8} << 20;

// The 64-byte lines of rows [r0, r1) x columns [c0, c0 + kChunk) of the stored weight (the chunk the item decodes
// next), into `lines`; returns their count (at most kMaxChunkLines). The tiles request them spread over the columns:
// many short strided streams that the hardware prefetcher misses, and as one burst of requests they stalled the tiles
// (measured, one thread, 32 tokens x 6144 -> 12288 bf16: 43-45 ms without prefetching or with a burst per chunk,
// 39-40 spread over the tiles, 35-37 when the weights are already in L2).
int64_t ChunkLines(const DenseProjectionShape& s, const DenseWeight& w, int64_t r0, int64_t r1, int64_t c0,
                   const char** lines) {
  // Stored bytes of columns [c0, c0 + count): c0 is a multiple of 128, so an int4 segment starts on a whole byte.
  const int64_t first = ExpertRowBytes(s.format, c0);
  const int64_t bytes = ExpertRowBytes(s.format, std::min(kChunk, s.in - c0));
  int64_t count = 0;
  for (int64_t r = r0; r < r1; ++r) {
    const char* row = static_cast<const char*>(w.data) + r * s.RowBytes() + first;
    for (int64_t b = 0; b < bytes; b += 64) lines[count++] = row + b;
  }
  return count;
}

}  // namespace

bool DenseGemmDecodes(ExpertWeightFormat format) {
  switch (format) {
    case ExpertWeightFormat::kFloat32:
    case ExpertWeightFormat::kBFloat16:
    case ExpertWeightFormat::kFloat8E4M3:
    case ExpertWeightFormat::kInt8:
    case ExpertWeightFormat::kInt4: return true;
  }
  return false;
}

void DenseGemmRowTiles(const Parallel& parallel, const DenseProjectionShape& s, const float* x, const DenseWeight& w,
                       float* y) {
  const DenseGemmKernels& k = ActiveDenseGemmKernels();
  const int64_t group = k.tile_vectors * k.lanes;  // tokens per tile at most: one group's columns lie together
  const int64_t items = (s.out + kItemRows - 1) / kItemRows;
  const int64_t pass = DenseGemmPassTokens(s.in);
  const int64_t group_floats = s.in * group;
  // bf16 rows decoded in pair order (half the decode's work; the tiles still sum in column order).
  const bool pairs = s.format == ExpertWeightFormat::kBFloat16;
  // The calling thread's (a pool thread's, in the grouped path), kept between calls; the work items only read it.
  thread_local LineVector<float> columns_buffer;
  LineVector<float>& columns = columns_buffer;
  columns.resize(static_cast<size_t>((std::min(pass, s.tokens) + group - 1) / group * group_floats));
  for (int64_t t0 = 0; t0 < s.tokens; t0 += pass) {
    const int64_t n = std::min(pass, s.tokens - t0);
    const int64_t groups = (n + group - 1) / group, padded = groups * group;
    // columns[(g * in + c) * group + i] = token g * group + i's column c (0 past the pass's last token).
    parallel.For(groups, [&](int64_t begin, int64_t end) {
      for (int64_t g = begin; g < end; ++g)
        TransposeTokens(x + (t0 + g * group) * s.in, s.in, std::min(group, n - g * group), group,
                        columns.data() + g * group_floats);
    });
    parallel.For(items, [&](int64_t begin, int64_t end) {
      thread_local LineVector<float> rows_buffer, acc;  // acc[j * padded + t]: row r0 + j, token t0 + t
      rows_buffer.resize(static_cast<size_t>(kItemRows * kChunk));
      for (int64_t item = begin; item < end; ++item) {
        const int64_t r0 = item * kItemRows, rows = std::min(kItemRows, s.out - r0);
        acc.assign(static_cast<size_t>(rows * padded), 0.0f);
        for (int64_t c0 = 0; c0 < s.in; c0 += kChunk) {
          const int64_t count = std::min(kChunk, s.in - c0);
          for (int64_t j = 0; j < rows; ++j)
            DecodeWeightRow(k, s, w, r0 + j, c0, count, rows_buffer.data() + j * kChunk, pairs);
          // The next chunk to decode, requested while the tokens run on this one.
          const char* lines[kMaxChunkLines];
          int64_t pending = 0, asked = 0;
          if (c0 + kChunk < s.in)
            pending = ChunkLines(s, w, r0, r0 + rows, c0 + kChunk, lines);
          else if (item + 1 < end)
            pending = ChunkLines(s, w, r0 + rows, std::min(s.out, r0 + rows + kItemRows), 0, lines);
          // Spread over the chunk's tiles, at most one per column.
          const int64_t tiles = groups * ((rows + k.tile_rows - 1) / k.tile_rows);
          const int64_t per_tile = std::min(count, (pending + tiles - 1) / tiles);
          for (int64_t g = 0; g < groups; ++g) {
            const int64_t vectors = std::min(k.tile_vectors, (n - g * group + k.lanes - 1) / k.lanes);
            const float* xt = columns.data() + g * group_floats + c0 * group;
            for (int64_t j = 0; j < rows; j += k.tile_rows) {
              const int64_t ask = std::min(per_tile, pending - asked);
              k.tile(rows_buffer.data() + j * kChunk, kChunk, pairs, std::min(k.tile_rows, rows - j), xt, group,
                     vectors, count, acc.data() + j * padded + g * group, padded, lines + asked, ask);
              asked += ask;
            }
          }
        }
        for (int64_t t = 0; t < n; ++t)
          for (int64_t j = 0; j < rows; ++j) y[(t0 + t) * s.out + r0 + j] = acc[static_cast<size_t>(j * padded + t)];
      }
    });
  }
}

int64_t DenseGemmPassTokens(int64_t in) {
  const int64_t fit = kGemmActivationBytes / (in * static_cast<int64_t>(sizeof(float))) / 32 * 32;
  return std::clamp<int64_t>(fit, 32, kDenseGemmMaxPassTokens);
}

void DenseProjectionGemm(const Parallel& parallel, const DenseProjectionShape& s, const float* x, const DenseWeight& w,
                         float* y) {
  if (s.tokens >= kDenseGemmPanelMinTokens) return DenseGemmPanels(parallel, s, x, w, y);
  DenseGemmRowTiles(parallel, s, x, w, y);
}

const DenseGemmKernels& ActiveDenseGemmKernels() {
  return ActiveIsa() == Isa::kAvx512 ? DenseGemmKernelsAvx512() : DenseGemmKernelsAvx2();
}

}  // namespace glm_ops::cpu
