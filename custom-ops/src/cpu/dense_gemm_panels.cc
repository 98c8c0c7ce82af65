#include "cpu/dense_gemm_panels.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/dense_gemm_decode.h"
#include "cpu/dense_gemm_kernels.h"
#include "cpu/line_vector.h"
#include "cpu/simd.h"

namespace glm_ops::cpu {

namespace {

constexpr int kPanelRows = kDenseGemmPanelRows;
constexpr int64_t kChunk = 256;  // columns per packed panel: 256 x 16 floats = 16 KiB, in L1 beside the tokens
// Panels that share one sweep over the tokens' columns: each 256-column slice of a pass's transposed activations
// (T x 1 KiB, T the pass's tokens padded to whole blocks) is read once per group of 8 panels instead of once per
// panel, while the group's running sums (8 x T x 64 B) stay in L2.
constexpr int64_t kPanelGroup = 8;
static_assert(kChunk % 8 == 0, "chunks start on an 8-column boundary, so no vector straddles an FP8 scale block");

// Packs rows [n0, n0 + rows) x columns [c0, c0 + count) as packed[k * 16 + j] (column-major panel: one column's 16
// rows are two vectors); rows past `rows` are zero. `rows_buffer` holds 16 decoded rows of kChunk.
void PackPanel(const DenseGemmKernels& kernels, const DenseProjectionShape& s, const DenseWeight& w, int64_t n0,
               int rows, int64_t c0, int64_t count, float* rows_buffer, float* packed) {
  for (int j = 0; j < rows; ++j) DecodeWeightRow(kernels, s, w, n0 + j, c0, count, rows_buffer + j * kChunk);
  for (int j = rows; j < kPanelRows; ++j) std::fill(rows_buffer + j * kChunk, rows_buffer + j * kChunk + count, 0.0f);
  // 8 x 8 transposes: rows j0..j0+7 of columns k..k+7 become columns' halves.
  const int64_t count8 = count & ~int64_t{7};
  for (int j0 = 0; j0 < kPanelRows; j0 += 8) {
    for (int64_t k = 0; k < count8; k += 8) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(rows_buffer + (j0 + i) * kChunk + k);
      __m256 c[8];
      simd::Transpose8x8(r, c);
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(packed + (k + i) * kPanelRows + j0, c[i]);
    }
    for (int64_t k = count8; k < count; ++k)
      for (int i = 0; i < 8; ++i) packed[k * kPanelRows + j0 + i] = rows_buffer[(j0 + i) * kChunk + k];
  }
}

// Requests rows [n0, n0 + 16) x columns [c0, c0 + kChunk) of the stored weight into the caches: 16 short strided
// streams (one 256-column segment per row) that the hardware prefetcher misses. Measured, one thread, 12 tokens x
// 6144 -> 2048 bf16: without it the GEMM took 11.8 ms per call against 4.7 ms for the row projection at 8 tokens.
void Prefetch(const DenseProjectionShape& s, const DenseWeight& w, int64_t n0, int64_t c0) {
  // Stored bytes of columns [c0, c0 + count): c0 is a multiple of 256, so an int4 segment starts on a whole byte.
  const int64_t first = ExpertRowBytes(s.format, c0);
  const int64_t bytes = ExpertRowBytes(s.format, std::min(kChunk, s.in - c0));
  const int64_t n1 = std::min(s.out, n0 + kPanelRows);
  for (int64_t r = n0; r < n1; ++r) {
    const char* row = static_cast<const char*>(w.data) + r * s.RowBytes() + first;
    for (int64_t b = 0; b < bytes; b += 64) _mm_prefetch(row + b, _MM_HINT_T0);
  }
}

// The transposed activations of one pass at most (DenseGemmPassTokens).
constexpr int64_t kGemmColumnsBytes = int64_t{8} << 20;

}  // namespace

int64_t DenseGemmPanelPassTokens(int64_t in, int64_t block) {
  const int64_t tokens = kGemmColumnsBytes / (in * static_cast<int64_t>(sizeof(float))) / block * block;
  return std::max(block, tokens);
}

void DenseGemmPanels(const Parallel& parallel, const DenseProjectionShape& s, const float* x, const DenseWeight& w,
                     float* y) {
  const DenseGemmKernels& kernels = ActiveDenseGemmKernels();
  const int64_t block = kernels.panel_tokens;
  const int64_t panels = (s.out + kPanelRows - 1) / kPanelRows;
  const int64_t pass = DenseGemmPanelPassTokens(s.in, block);
  // The calling thread's (a pool thread's, in the grouped path), kept between calls: at most 8 MiB, a block's more
  // where one token block's row alone is larger (in > ~175k columns). The work items only read it.
  thread_local LineVector<float> columns_buffer;
  LineVector<float>& columns = columns_buffer;
  for (int64_t t0 = 0; t0 < s.tokens; t0 += pass) {
    const int64_t n = std::min(pass, s.tokens - t0);
    const int64_t blocks = (n + block - 1) / block;
    const int64_t panel_acc = blocks * block * kPanelRows;  // one panel's running sums for every (padded) token
    columns.resize(static_cast<size_t>(blocks * block * s.in));
    parallel.For(blocks, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        const int64_t first = t0 + b * block, rows = std::min(block, t0 + n - first);
        TransposeTokens(x + first * s.in, s.in, rows, block, columns.data() + b * block * s.in);
      }
    });
    parallel.For(panels, [&](int64_t begin, int64_t end) {
      thread_local LineVector<float> rows_buffer, packed, acc;
      rows_buffer.resize(static_cast<size_t>(kPanelRows * kChunk));
      packed.resize(static_cast<size_t>(kPanelRows * kChunk));
      for (int64_t g0 = begin; g0 < end; g0 += kPanelGroup) {
        const int64_t g1 = std::min(end, g0 + kPanelGroup);
        acc.assign(static_cast<size_t>((g1 - g0) * panel_acc), 0.0f);
        for (int64_t c0 = 0; c0 < s.in; c0 += kChunk) {
          const int64_t count = std::min(kChunk, s.in - c0);
          for (int64_t p = g0; p < g1; ++p) {
            const int64_t n0 = p * kPanelRows;
            const int rows = static_cast<int>(std::min<int64_t>(kPanelRows, s.out - n0));
            float* panel = acc.data() + (p - g0) * panel_acc;
            PackPanel(kernels, s, w, n0, rows, c0, count, rows_buffer.data(), packed.data());
            // The next panel to pack, fetched while the tokens run on this one.
            if (p + 1 < g1)
              Prefetch(s, w, n0 + kPanelRows, c0);
            else if (c0 + kChunk < s.in)
              Prefetch(s, w, g0 * kPanelRows, c0 + kChunk);
            for (int64_t b = 0; b < blocks; ++b)
              kernels.panel(packed.data(), count, columns.data() + b * block * s.in + c0 * block,
                            panel + b * block * kPanelRows);
          }
        }
        for (int64_t p = g0; p < g1; ++p) {
          const int64_t n0 = p * kPanelRows;
          const size_t rows = static_cast<size_t>(std::min<int64_t>(kPanelRows, s.out - n0));
          const float* panel = acc.data() + (p - g0) * panel_acc;
          for (int64_t t = 0; t < n; ++t)
            std::memcpy(y + (t0 + t) * s.out + n0, panel + t * kPanelRows, rows * sizeof(float));
        }
      }
    });
  }
}

}  // namespace glm_ops::cpu
