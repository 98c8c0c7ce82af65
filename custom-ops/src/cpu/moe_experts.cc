#include "cpu/moe_experts.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/simd.h"
#include "cpu/thread_pool.h"
#include "cpu/weight_decode.h"

namespace glm_ops::cpu {

namespace {

constexpr int kRows = 4;              // weight rows computed together (one decoded tile)
constexpr int64_t kColBlock = 512;    // columns decoded per tile: 4 x 512 floats = 8 KiB, stays in L1
constexpr int64_t kRowsPerItem = 16;  // rows of one work item

// One expert's [rows, cols] matrix in its stored format.
struct WeightMatrix {
  ExpertWeightFormat format;
  const void* data;
  const float* scales;  // FP8: [ceil(rows/qb), ceil(cols/qb)]
  int64_t rows, cols, quant_block, scale_cols;

  static WeightMatrix Of(const MoeExpertsShape& s, const void* stacked, const float* stacked_scales, int64_t expert,
                         int64_t rows, int64_t cols) {
    const int64_t element = s.format == ExpertWeightFormat::kFloat32 ? 4 : s.format == ExpertWeightFormat::kBFloat16 ? 2 : 1;
    const int64_t qb = s.quant_block_size;
    const int64_t scale_rows = (rows + qb - 1) / qb, scale_cols = (cols + qb - 1) / qb;
    return WeightMatrix{s.format,
                        static_cast<const uint8_t*>(stacked) + expert * rows * cols * element,
                        stacked_scales ? stacked_scales + expert * scale_rows * scale_cols : nullptr,
                        rows,
                        cols,
                        qb,
                        scale_cols};
  }
};

struct Scratch {
  std::vector<float> tile;      // kRows x kColBlock decoded weights
  std::vector<float> partial;   // n x kRows x 8 vector partial sums
  std::vector<float> tail;      // n x kRows scalar partial sums (columns past the last multiple of 8)
  std::vector<float> gate, up;  // n x kRowsPerItem projections
};

// Decodes columns [c0, c0 + count) of row r into dst (float32), applying FP8 block scales.
void DecodeRowSegment(const WeightMatrix& w, int64_t r, int64_t c0, int64_t count, float* dst) {
  const int64_t count8 = count & ~int64_t{7};
  if (w.format == ExpertWeightFormat::kBFloat16) {
    const uint16_t* src = static_cast<const uint16_t*>(w.data) + r * w.cols + c0;
    for (int64_t c = 0; c < count8; c += 8) _mm256_storeu_ps(dst + c, DecodeBf16x8(src + c));
    for (int64_t c = count8; c < count; ++c) dst[c] = DecodeBf16(src[c]);
    return;
  }
  const uint8_t* src = static_cast<const uint8_t*>(w.data) + r * w.cols + c0;
  const float* scale_row = w.scales + (r / w.quant_block) * w.scale_cols;
  // Walk the row one scale block at a time (no division per vector). quant_block and c0 are multiples of 8, so
  // each 8-vector lies inside one block.
  int64_t block = c0 / w.quant_block;
  for (int64_t c = 0; c < count; ++block) {
    const int64_t end = std::min(count, (block + 1) * w.quant_block - c0);
    const __m256 scale = _mm256_set1_ps(scale_row[block]);
    for (; c + 8 <= end; c += 8) _mm256_storeu_ps(dst + c, _mm256_mul_ps(DecodeE4M3x8(src + c), scale));
    for (; c < end; ++c) dst[c] = DecodeE4M3(src[c]) * scale_row[block];
  }
}

template <ExpertWeightFormat F>
inline __m256 LoadDecoded(const uint8_t* row, int64_t c);
template <>
inline __m256 LoadDecoded<ExpertWeightFormat::kFloat32>(const uint8_t* row, int64_t c) {
  return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + c);
}
template <>
inline __m256 LoadDecoded<ExpertWeightFormat::kBFloat16>(const uint8_t* row, int64_t c) {
  return DecodeBf16x8(reinterpret_cast<const uint16_t*>(row) + c);
}
template <>
inline __m256 LoadDecoded<ExpertWeightFormat::kFloat8E4M3>(const uint8_t* row, int64_t c) {
  return DecodeE4M3x8(row + c);
}

template <ExpertWeightFormat F>
inline float LoadDecodedScalar(const uint8_t* row, int64_t c) {
  if constexpr (F == ExpertWeightFormat::kFloat32) return reinterpret_cast<const float*>(row)[c];
  if constexpr (F == ExpertWeightFormat::kBFloat16) return DecodeBf16(reinterpret_cast<const uint16_t*>(row)[c]);
  return DecodeE4M3(row[c]);
}

// The decode-time path (one or two tokens on this expert): weights are decoded in registers and used at once, so
// each weight byte is read once and never stored. FP8 dot products run per scale block and are scaled afterwards.
template <ExpertWeightFormat F, int N>
void ProjectRowsDirect(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* x, float* y, int64_t ldy) {
  constexpr int64_t kElement = F == ExpertWeightFormat::kFloat32 ? 4 : F == ExpertWeightFormat::kBFloat16 ? 2 : 1;
  const int64_t segment = F == ExpertWeightFormat::kFloat8E4M3 ? w.quant_block : w.cols;
  for (int64_t rq = r0; rq < r1; rq += kRows) {
    const int rows = static_cast<int>(std::min<int64_t>(kRows, r1 - rq));
    const uint8_t* rp[kRows];
    for (int j = 0; j < kRows; ++j)
      rp[j] = static_cast<const uint8_t*>(w.data) + (rq + std::min(j, rows - 1)) * w.cols * kElement;
    __m256 total[N][kRows];
    float tail_total[N][kRows];
    for (int t = 0; t < N; ++t)
      for (int j = 0; j < kRows; ++j) {
        total[t][j] = _mm256_setzero_ps();
        tail_total[t][j] = 0.0f;
      }
    for (int64_t s0 = 0, block = 0; s0 < w.cols; s0 += segment, ++block) {
      const int64_t s1 = std::min(w.cols, s0 + segment);
      const int64_t s8 = s0 + ((s1 - s0) & ~int64_t{7});
      __m256 acc[N][kRows];
      float tail[N][kRows];
      for (int t = 0; t < N; ++t)
        for (int j = 0; j < kRows; ++j) {
          acc[t][j] = _mm256_setzero_ps();
          tail[t][j] = 0.0f;
        }
      for (int64_t c = s0; c < s8; c += 8) {
        __m256 xv[N];
        for (int t = 0; t < N; ++t) xv[t] = _mm256_loadu_ps(x[t] + c);
        for (int j = 0; j < kRows; ++j) {
          const __m256 wv = LoadDecoded<F>(rp[j], c);
          for (int t = 0; t < N; ++t) acc[t][j] = _mm256_fmadd_ps(wv, xv[t], acc[t][j]);
        }
      }
      for (int64_t c = s8; c < s1; ++c)
        for (int j = 0; j < kRows; ++j) {
          const float wf = LoadDecodedScalar<F>(rp[j], c);
          for (int t = 0; t < N; ++t) tail[t][j] += wf * x[t][c];
        }
      for (int j = 0; j < kRows; ++j) {
        float scale = 1.0f;
        if constexpr (F == ExpertWeightFormat::kFloat8E4M3)
          scale = w.scales[((rq + std::min(j, rows - 1)) / w.quant_block) * w.scale_cols + block];
        for (int t = 0; t < N; ++t) {
          total[t][j] = _mm256_fmadd_ps(acc[t][j], _mm256_set1_ps(scale), total[t][j]);
          tail_total[t][j] += tail[t][j] * scale;
        }
      }
    }
    for (int t = 0; t < N; ++t)
      for (int j = 0; j < rows; ++j) y[t * ldy + (rq - r0) + j] = simd::HorizontalSum(total[t][j]) + tail_total[t][j];
  }
}

template <ExpertWeightFormat F>
void ProjectRowsDirectAny(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* x, int64_t n, float* y,
                          int64_t ldy) {
  if (n == 1)
    ProjectRowsDirect<F, 1>(w, r0, r1, x, y, ldy);
  else
    ProjectRowsDirect<F, 2>(w, r0, r1, x, y, ldy);
}

// y[t * ldy + (r - r0)] = W[r, :] . x[t] for r in [r0, r1), t < n. Rows go kRows at a time, tokens two at a time:
// 8 accumulators, 4 weight vectors and 2 activation vectors per step, all in registers.
void ProjectRows(const WeightMatrix& w, int64_t r0, int64_t r1, const float* const* x, int64_t n, float* y,
                 int64_t ldy, Scratch& s) {
  if (n <= 2) {
    switch (w.format) {
      case ExpertWeightFormat::kFloat32: return ProjectRowsDirectAny<ExpertWeightFormat::kFloat32>(w, r0, r1, x, n, y, ldy);
      case ExpertWeightFormat::kBFloat16: return ProjectRowsDirectAny<ExpertWeightFormat::kBFloat16>(w, r0, r1, x, n, y, ldy);
      case ExpertWeightFormat::kFloat8E4M3:
        return ProjectRowsDirectAny<ExpertWeightFormat::kFloat8E4M3>(w, r0, r1, x, n, y, ldy);
    }
  }
  // Three or more tokens: decode a kRows x kColBlock tile once and reuse it for every token.
  s.tile.resize(static_cast<size_t>(kRows * kColBlock));
  s.partial.resize(static_cast<size_t>(n * kRows * 8));
  s.tail.resize(static_cast<size_t>(n * kRows));
  for (int64_t rq = r0; rq < r1; rq += kRows) {
    const int rows = static_cast<int>(std::min<int64_t>(kRows, r1 - rq));
    std::fill(s.partial.begin(), s.partial.end(), 0.0f);
    std::fill(s.tail.begin(), s.tail.end(), 0.0f);
    for (int64_t c0 = 0; c0 < w.cols; c0 += kColBlock) {
      const int64_t count = std::min(kColBlock, w.cols - c0);
      const int64_t count8 = count & ~int64_t{7};
      const float* wr[kRows];
      for (int j = 0; j < kRows; ++j) {
        const int64_t r = rq + std::min(j, rows - 1);  // short groups repeat their last row; results dropped
        if (w.format == ExpertWeightFormat::kFloat32) {
          wr[j] = static_cast<const float*>(w.data) + r * w.cols + c0;
        } else {
          float* dst = s.tile.data() + j * kColBlock;
          if (j < rows) DecodeRowSegment(w, r, c0, count, dst);
          wr[j] = j < rows ? dst : wr[j - 1];
        }
      }
      for (int64_t t = 0; t < n; t += 2) {
        const int64_t t1 = std::min(t + 1, n - 1);
        const float* x0 = x[t] + c0;
        const float* x1 = x[t1] + c0;
        float* p0 = s.partial.data() + t * kRows * 8;
        float* p1 = s.partial.data() + t1 * kRows * 8;
        __m256 a0 = _mm256_loadu_ps(p0), a1 = _mm256_loadu_ps(p0 + 8), a2 = _mm256_loadu_ps(p0 + 16),
               a3 = _mm256_loadu_ps(p0 + 24);
        __m256 b0 = _mm256_setzero_ps(), b1 = b0, b2 = b0, b3 = b0;
        for (int64_t c = 0; c < count8; c += 8) {
          const __m256 v0 = _mm256_loadu_ps(x0 + c), v1 = _mm256_loadu_ps(x1 + c);
          const __m256 w0 = _mm256_loadu_ps(wr[0] + c), w1 = _mm256_loadu_ps(wr[1] + c);
          const __m256 w2 = _mm256_loadu_ps(wr[2] + c), w3 = _mm256_loadu_ps(wr[3] + c);
          a0 = _mm256_fmadd_ps(w0, v0, a0);
          a1 = _mm256_fmadd_ps(w1, v0, a1);
          a2 = _mm256_fmadd_ps(w2, v0, a2);
          a3 = _mm256_fmadd_ps(w3, v0, a3);
          b0 = _mm256_fmadd_ps(w0, v1, b0);
          b1 = _mm256_fmadd_ps(w1, v1, b1);
          b2 = _mm256_fmadd_ps(w2, v1, b2);
          b3 = _mm256_fmadd_ps(w3, v1, b3);
        }
        _mm256_storeu_ps(p0, a0);
        _mm256_storeu_ps(p0 + 8, a1);
        _mm256_storeu_ps(p0 + 16, a2);
        _mm256_storeu_ps(p0 + 24, a3);
        if (t1 != t) {
          _mm256_storeu_ps(p1, _mm256_add_ps(_mm256_loadu_ps(p1), b0));
          _mm256_storeu_ps(p1 + 8, _mm256_add_ps(_mm256_loadu_ps(p1 + 8), b1));
          _mm256_storeu_ps(p1 + 16, _mm256_add_ps(_mm256_loadu_ps(p1 + 16), b2));
          _mm256_storeu_ps(p1 + 24, _mm256_add_ps(_mm256_loadu_ps(p1 + 24), b3));
        }
        for (int64_t c = count8; c < count; ++c)
          for (int j = 0; j < kRows; ++j) {
            s.tail[t * kRows + j] += wr[j][c] * x0[c];
            if (t1 != t) s.tail[t1 * kRows + j] += wr[j][c] * x1[c];
          }
      }
    }
    for (int64_t t = 0; t < n; ++t)
      for (int j = 0; j < rows; ++j)
        y[t * ldy + (rq - r0) + j] =
            simd::HorizontalSum(_mm256_loadu_ps(s.partial.data() + (t * kRows + j) * 8)) + s.tail[t * kRows + j];
  }
}

// Tokens routed to each expert, grouped: assignments [begin[e], begin[e+1]) belong to expert e.
struct Routing {
  std::vector<int64_t> begin;         // experts + 1
  std::vector<int64_t> token;         // per assignment
  std::vector<float> weight;          // per assignment
  std::vector<int32_t> active;        // experts with at least one token
};

Routing GroupByExpert(const MoeExpertsShape& s, const int32_t* ids, const float* weights) {
  Routing r;
  r.begin.assign(static_cast<size_t>(s.experts + 1), 0);
  const int64_t assignments = s.tokens * s.top_k;
  for (int64_t i = 0; i < assignments; ++i) ++r.begin[ids[i] + 1];
  for (int64_t e = 0; e < s.experts; ++e) {
    if (r.begin[e + 1] > 0) r.active.push_back(static_cast<int32_t>(e));
    r.begin[e + 1] += r.begin[e];
  }
  r.token.resize(static_cast<size_t>(assignments));
  r.weight.resize(static_cast<size_t>(assignments));
  std::vector<int64_t> fill(r.begin.begin(), r.begin.end() - 1);
  for (int64_t i = 0; i < assignments; ++i) {
    const int64_t slot = fill[ids[i]]++;
    r.token[slot] = i / s.top_k;
    r.weight[slot] = weights[i];
  }
  return r;
}

}  // namespace

void MoeExperts(const MoeExpertsShape& s, const float* hidden, const int32_t* expert_ids, const float* expert_weights,
                const ExpertWeights& weights, float* out) {
  const Routing routing = GroupByExpert(s, expert_ids, expert_weights);
  const int64_t assignments = s.tokens * s.top_k;
  thread_local std::vector<float> activations;  // [assignments, inter]: SiLU(gate) * up per routed token
  activations.resize(static_cast<size_t>(assignments * s.inter));
  float* act = activations.data();

  // Phase 1: gate and up projections, item = (active expert, kRowsPerItem rows of inter).
  const int64_t up_tiles = (s.inter + kRowsPerItem - 1) / kRowsPerItem;
  ParallelFor(static_cast<int64_t>(routing.active.size()) * up_tiles, [&](int64_t begin, int64_t end) {
    thread_local Scratch scratch;
    std::vector<const float*> rows;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t e = routing.active[item / up_tiles];
      const int64_t r0 = (item % up_tiles) * kRowsPerItem, r1 = std::min(s.inter, r0 + kRowsPerItem);
      const int64_t first = routing.begin[e], n = routing.begin[e + 1] - first;
      rows.resize(static_cast<size_t>(n));
      for (int64_t a = 0; a < n; ++a) rows[a] = hidden + routing.token[first + a] * s.hidden;
      scratch.gate.resize(static_cast<size_t>(n * kRowsPerItem));
      scratch.up.resize(scratch.gate.size());
      const WeightMatrix gate = WeightMatrix::Of(s, weights.gate, weights.gate_scales, e, s.inter, s.hidden);
      const WeightMatrix up = WeightMatrix::Of(s, weights.up, weights.up_scales, e, s.inter, s.hidden);
      ProjectRows(gate, r0, r1, rows.data(), n, scratch.gate.data(), kRowsPerItem, scratch);
      ProjectRows(up, r0, r1, rows.data(), n, scratch.up.data(), kRowsPerItem, scratch);
      for (int64_t a = 0; a < n; ++a)
        for (int64_t r = r0; r < r1; ++r) {
          const float g = scratch.gate[a * kRowsPerItem + (r - r0)];
          act[(first + a) * s.inter + r] = g / (1.0f + std::exp(-g)) * scratch.up[a * kRowsPerItem + (r - r0)];
        }
    }
  });

  // Phase 2: down projection and weighted sum, item = kRowsPerItem output columns across all experts, so every
  // item owns its slice of `out` and no two threads add into the same element.
  const int64_t down_tiles = (s.hidden + kRowsPerItem - 1) / kRowsPerItem;
  ParallelFor(down_tiles, [&](int64_t begin, int64_t end) {
    thread_local Scratch scratch;
    std::vector<const float*> rows;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t r0 = item * kRowsPerItem, r1 = std::min(s.hidden, r0 + kRowsPerItem);
      for (int64_t t = 0; t < s.tokens; ++t) std::fill(out + t * s.hidden + r0, out + t * s.hidden + r1, 0.0f);
      for (int32_t e : routing.active) {
        const int64_t first = routing.begin[e], n = routing.begin[e + 1] - first;
        rows.resize(static_cast<size_t>(n));
        for (int64_t a = 0; a < n; ++a) rows[a] = act + (first + a) * s.inter;
        scratch.gate.resize(static_cast<size_t>(n * kRowsPerItem));
        const WeightMatrix down = WeightMatrix::Of(s, weights.down, weights.down_scales, e, s.hidden, s.inter);
        ProjectRows(down, r0, r1, rows.data(), n, scratch.gate.data(), kRowsPerItem, scratch);
        for (int64_t a = 0; a < n; ++a) {
          float* dst = out + routing.token[first + a] * s.hidden;
          const float w = routing.weight[first + a];
          for (int64_t r = r0; r < r1; ++r) dst[r] += w * scratch.gate[a * kRowsPerItem + (r - r0)];
        }
      }
    }
  });
}

}  // namespace glm_ops::cpu
