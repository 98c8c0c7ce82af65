#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "cuda/cuda_check.h"
#include "cuda/device_common.cuh"
#include "cuda/paged_write.h"
#include "cuda/rope_cuda.h"
#include "cuda/sparse_mla_attention_cuda.h"

namespace glm_ops::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kHeads = 32;   // heads per block: every cache row staged in shared memory serves all of them
constexpr int kRows = 32;    // cache rows per tile
constexpr int kDGroups = 4;  // the score phase splits the 576-wide dot products over 4 groups of 64 threads
constexpr int kPStride = kHeads + 4;
constexpr float kLog2e = 1.4426950408889634f;

struct Geometry {
  int heads, rank, rope;     // H, R, P
  int rank_pad, width_pad;   // R rounded up to 4, (R + P) padded: [latent | rope] each rounded up to 4
  int stride;                // shared-memory row stride (width_pad + 4 keeps 128-bit loads conflict-free)
  int list_len_max;          // K, or the longest causal range
  int chunk, splits;         // positions per split, splits per token
  int topk;                  // K or 0
};

struct SplitPartial {
  float* o;   // [T, H, splits, R]
  float* ml;  // [T, H, splits, 2]: running max (log2 domain) and sum
};

// Scores for a 32-head x 32-row tile: thread (d-group g, head quad hq, row octet rq) accumulates 4 heads
// (hq, hq+8, hq+16, hq+24) x 4 rows (rq, rq+8, rq+16, rq+24) over every 4th float4 of the row.
// Then online softmax per head and P.V with thread (octet o, column c) owning heads 8o..8o+7 x columns 4c + 256j.
template <typename T, int kJ>
__global__ void __launch_bounds__(kThreads) SparseMlaKernel(DeviceBatch batch, Geometry g, const T* q_latent,
                                                            const T* q_rope, const T* pool, const int32_t* topk,
                                                            float scale_log2, T* out, SplitPartial partial) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  float* qs = reinterpret_cast<float*>(smem_raw);  // [kHeads][stride]
  float* kv = qs + kHeads * g.stride;               // [kRows][stride]
  float* sp = kv + kRows * g.stride;                // [kDGroups][kHeads][kRows]
  float* pt = sp + kDGroups * kHeads * kRows;       // [kRows][kPStride]: probabilities, row-major by row
  float* alpha = pt + kRows * kPStride;             // [kHeads]
  float* run_max = alpha + kHeads;                  // [kHeads]
  float* run_sum = run_max + kHeads;                // [kHeads]
  int64_t* rows = reinterpret_cast<int64_t*>(run_sum + kHeads);  // [kRows] element offsets, -1 = masked

  const int split = blockIdx.x, head0 = blockIdx.y * kHeads, token = blockIdx.z;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int seq = SequenceOf(batch, token);
  const int64_t position = batch.past[seq] + (token - batch.cu[seq]);
  const int64_t list_len = g.topk ? g.topk : position + 1;
  const int64_t begin = int64_t{split} * g.chunk;
  const int64_t end = begin + g.chunk < list_len ? begin + g.chunk : list_len;
  const int width = g.rank + g.rope;

  // Queries, pre-scaled by softmax_scale * log2(e) so the softmax can use exp2.
  for (int i = tid; i < kHeads * g.width_pad; i += kThreads) {
    const int h = i / g.width_pad, d = i % g.width_pad, head = head0 + h;
    float v = 0.0f;
    if (head < g.heads) {
      if (d < g.rank)
        v = ToFloat(q_latent[(int64_t{token} * g.heads + head) * g.rank + d]);
      else if (d >= g.rank_pad && d - g.rank_pad < g.rope)
        v = ToFloat(q_rope[(int64_t{token} * g.heads + head) * g.rope + (d - g.rank_pad)]);
    }
    qs[h * g.stride + d] = v * scale_log2;
  }
  if (tid < kHeads) {
    run_max[tid] = -INFINITY;
    run_sum[tid] = 0.0f;
  }

  const int octet = tid >> 6, column = tid & 63;
  float acc[8][kJ][4];
#pragma unroll
  for (int h = 0; h < 8; ++h)
#pragma unroll
    for (int j = 0; j < kJ; ++j) acc[h][j][0] = acc[h][j][1] = acc[h][j][2] = acc[h][j][3] = 0.0f;

  const bool vector_rows = (g.rank & 3) == 0 && (g.rope & 3) == 0;
  const int w4 = g.width_pad / 4;
  for (int64_t t0 = begin; t0 < end; t0 += kRows) {
    __syncthreads();  // previous tile fully consumed
    if (tid < kRows) {
      const int64_t e = t0 + tid;
      int64_t row = -1;
      if (e < end) {
        const int64_t pos = topk ? topk[int64_t{token} * g.topk + e] : e;
        if (pos >= 0 && pos <= position) row = PoolRow(batch, seq, pos) * width;
      }
      rows[tid] = row;
    }
    __syncthreads();
    const bool any = __syncthreads_or(tid < kRows && rows[tid] >= 0);
    if (!any) continue;  // a tile of padding (-1) or future positions: nothing to attend
    for (int i = tid; i < kRows * w4; i += kThreads) {
      const int r = i / w4, d = (i % w4) * 4;
      const int64_t base = rows[r];
      float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
      if (base >= 0) {
        const bool latent = d < g.rank_pad;
        const int src = latent ? d : g.rank + (d - g.rank_pad);
        const int limit = latent ? g.rank : width;
        if (vector_rows && src + 4 <= limit) {
          x = Load4(pool + base + src);
        } else {
          float e[4];
          for (int u = 0; u < 4; ++u) e[u] = src + u < limit ? ToFloat(pool[base + src + u]) : 0.0f;
          x = make_float4(e[0], e[1], e[2], e[3]);
        }
      }
      *reinterpret_cast<float4*>(kv + r * g.stride + d) = x;
    }
    __syncthreads();

    {  // scores
      const int dg = tid >> 6, hq = (tid & 63) >> 3, rq = tid & 7;
      float s[4][4];
#pragma unroll
      for (int a = 0; a < 4; ++a) s[a][0] = s[a][1] = s[a][2] = s[a][3] = 0.0f;
      for (int c = dg; c < w4; c += kDGroups) {
        float4 qv[4], kvv[4];
#pragma unroll
        for (int a = 0; a < 4; ++a) qv[a] = *reinterpret_cast<const float4*>(qs + (hq + 8 * a) * g.stride + 4 * c);
#pragma unroll
        for (int b = 0; b < 4; ++b) kvv[b] = *reinterpret_cast<const float4*>(kv + (rq + 8 * b) * g.stride + 4 * c);
#pragma unroll
        for (int a = 0; a < 4; ++a)
#pragma unroll
          for (int b = 0; b < 4; ++b)
            s[a][b] += qv[a].x * kvv[b].x + qv[a].y * kvv[b].y + qv[a].z * kvv[b].z + qv[a].w * kvv[b].w;
      }
#pragma unroll
      for (int a = 0; a < 4; ++a)
#pragma unroll
        for (int b = 0; b < 4; ++b) sp[(dg * kHeads + hq + 8 * a) * kRows + rq + 8 * b] = s[a][b];
    }
    __syncthreads();

    // Online softmax: warp w owns heads 4w..4w+3, lane = row.
#pragma unroll
    for (int a = 0; a < 4; ++a) {
      const int h = warp * 4 + a;
      const bool valid = rows[lane] >= 0;
      float s = 0.0f;
#pragma unroll
      for (int dg = 0; dg < kDGroups; ++dg) s += sp[(dg * kHeads + h) * kRows + lane];
      s = valid ? s : -INFINITY;
      const float old_max = run_max[h];
      const float new_max = fmaxf(old_max, WarpMax(s));
      const float scale_old = new_max == -INFINITY ? 1.0f : exp2f(old_max - new_max);
      const float p = valid ? exp2f(s - new_max) : 0.0f;
      const float sum = WarpSum(p);
      pt[lane * kPStride + h] = p;
      if (lane == 0) {
        alpha[h] = scale_old;
        run_max[h] = new_max;
        run_sum[h] = run_sum[h] * scale_old + sum;
      }
    }
    __syncthreads();

    // P.V over the latent part of the rows.
    float al[8];
#pragma unroll
    for (int h = 0; h < 8; ++h) al[h] = alpha[octet * 8 + h];
#pragma unroll
    for (int h = 0; h < 8; ++h)
#pragma unroll
      for (int j = 0; j < kJ; ++j) {
        acc[h][j][0] *= al[h];
        acc[h][j][1] *= al[h];
        acc[h][j][2] *= al[h];
        acc[h][j][3] *= al[h];
      }
    for (int r = 0; r < kRows; ++r) {
      const float4 p0 = *reinterpret_cast<const float4*>(pt + r * kPStride + octet * 8);
      const float4 p1 = *reinterpret_cast<const float4*>(pt + r * kPStride + octet * 8 + 4);
      const float p[8] = {p0.x, p0.y, p0.z, p0.w, p1.x, p1.y, p1.z, p1.w};
#pragma unroll
      for (int j = 0; j < kJ; ++j) {
        const int d = 4 * column + 256 * j;
        if (d < g.rank_pad) {
          const float4 v = *reinterpret_cast<const float4*>(kv + r * g.stride + d);
#pragma unroll
          for (int h = 0; h < 8; ++h) {
            acc[h][j][0] += p[h] * v.x;
            acc[h][j][1] += p[h] * v.y;
            acc[h][j][2] += p[h] * v.z;
            acc[h][j][3] += p[h] * v.w;
          }
        }
      }
    }
  }
  __syncthreads();

#pragma unroll
  for (int h = 0; h < 8; ++h) {
    const int local = octet * 8 + h, head = head0 + local;
    if (head >= g.heads) continue;
    const float m = run_max[local], l = run_sum[local];
#pragma unroll
    for (int j = 0; j < kJ; ++j) {
      const int d = 4 * column + 256 * j;
      if (d >= g.rank) continue;
      if (g.splits == 1) {
        const float inv = l > 0.0f ? 1.0f / l : 0.0f;  // no attended position: zeros
        T* dst = out + (int64_t{token} * g.heads + head) * g.rank + d;
#pragma unroll
        for (int u = 0; u < 4; ++u)
          if (d + u < g.rank) dst[u] = FromFloat<T>(acc[h][j][u] * inv);
      } else {
        const int64_t slot = (int64_t{token} * g.heads + head) * g.splits + split;
        float* dst = partial.o + slot * g.rank + d;
#pragma unroll
        for (int u = 0; u < 4; ++u)
          if (d + u < g.rank) dst[u] = acc[h][j][u];
        if (column == 0 && j == 0) {
          partial.ml[slot * 2] = m;
          partial.ml[slot * 2 + 1] = l;
        }
      }
    }
  }
}

// Merges the splits of one (token, head): o = sum_s 2^(m_s - M) o_s / sum_s 2^(m_s - M) l_s.
template <typename T>
__global__ void CombineKernel(Geometry g, SplitPartial partial, T* out) {
  const int head = blockIdx.x, token = blockIdx.y;
  const int64_t slot0 = (int64_t{token} * g.heads + head) * g.splits;
  float m = -INFINITY;
  for (int s = 0; s < g.splits; ++s) m = fmaxf(m, partial.ml[(slot0 + s) * 2]);
  float l = 0.0f;
  for (int s = 0; s < g.splits; ++s) {
    const float ms = partial.ml[(slot0 + s) * 2];
    if (ms != -INFINITY) l += exp2f(ms - m) * partial.ml[(slot0 + s) * 2 + 1];
  }
  const float inv = l > 0.0f ? 1.0f / l : 0.0f;
  for (int d = threadIdx.x; d < g.rank; d += blockDim.x) {
    float o = 0.0f;
    for (int s = 0; s < g.splits; ++s) {
      const float ms = partial.ml[(slot0 + s) * 2];
      if (ms != -INFINITY) o += exp2f(ms - m) * partial.o[(slot0 + s) * g.rank + d];
    }
    out[(int64_t{token} * g.heads + head) * g.rank + d] = FromFloat<T>(o * inv);
  }
}

int64_t RoundUp(int64_t a, int64_t b) { return CeilDiv(a, b) * b; }

Geometry MakeGeometry(const SparseMlaShape& s) {
  if (s.kv_lora_rank > 512)
    throw std::invalid_argument("SparseMlaAttention (CUDA): kv_lora_rank " + std::to_string(s.kv_lora_rank) +
                                ": expected at most 512");
  if (s.rope_dim > 256)
    throw std::invalid_argument("SparseMlaAttention (CUDA): rope_dim " + std::to_string(s.rope_dim) +
                                ": expected at most 256");
  Geometry g{};
  g.heads = static_cast<int>(s.n_heads);
  g.rank = static_cast<int>(s.kv_lora_rank);
  g.rope = static_cast<int>(s.rope_dim);
  g.rank_pad = static_cast<int>(RoundUp(g.rank, 4));
  g.width_pad = g.rank_pad + static_cast<int>(RoundUp(g.rope, 4));
  g.stride = g.width_pad + 4;
  g.topk = static_cast<int>(s.topk);
  int64_t longest = 0;
  for (int64_t b = 0; b < s.batch.num_sequences; ++b)
    if (s.batch.NewTokens(b) > 0) longest = std::max(longest, s.batch.Length(b));
  g.list_len_max = static_cast<int>(s.topk ? s.topk : longest);
  // Flash-decoding: split each token's positions so that about two waves of blocks fill 132 SMs.
  const int64_t base_blocks = s.tokens * CeilDiv(s.n_heads, kHeads);
  const int64_t wanted = std::clamp<int64_t>(CeilDiv(264, base_blocks), 1, 64);
  g.chunk = static_cast<int>(std::max<int64_t>(kRows, RoundUp(CeilDiv(std::max(g.list_len_max, 1), wanted), kRows)));
  g.splits = static_cast<int>(std::max<int64_t>(1, CeilDiv(g.list_len_max, g.chunk)));
  return g;
}

size_t SharedBytes(const Geometry& g) {
  return sizeof(float) * (static_cast<size_t>(kHeads + kRows) * g.stride + kDGroups * kHeads * kRows +
                          kRows * kPStride + 3 * kHeads) +
         sizeof(int64_t) * kRows;
}

struct Buffers {
  DeviceBatch batch;
  SplitPartial partial;
  void* q_rope_rotated;  // [T, H, P] and [T, P] when shape.rotate: the kernels read these instead of the inputs
  void* k_rope_rotated;
};

Buffers Carve(const SparseMlaShape& s, const Geometry& g, Workspace& ws, cudaStream_t stream) {
  Buffers b;
  b.batch = UploadBatch(s.batch, ws, stream);
  const size_t slots = g.splits > 1 ? static_cast<size_t>(s.tokens * s.n_heads * g.splits) : 0;
  b.partial.o = ws.Take<float>(slots * static_cast<size_t>(g.rank));
  b.partial.ml = ws.Take<float>(slots * 2);
  // Rotated copies, sized as float32 (the widest activation) so the size does not depend on the type.
  const size_t rotated = s.rotate ? static_cast<size_t>(s.tokens) : 0;
  b.q_rope_rotated = ws.Take<float>(rotated * static_cast<size_t>(s.n_heads * s.rope_dim));
  b.k_rope_rotated = ws.Take<float>(rotated * static_cast<size_t>(s.rope_dim));
  return b;
}

template <typename T, int kJ>
void Launch(const SparseMlaShape& s, const Geometry& g, const Buffers& b, const void* ql, const void* qr,
            const void* pool, const int32_t* topk, void* out, cudaStream_t stream) {
  const size_t smem = SharedBytes(g);
  auto kernel = SparseMlaKernel<T, kJ>;
  GLM_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  const dim3 grid(static_cast<unsigned>(g.splits), static_cast<unsigned>(CeilDiv(s.n_heads, kHeads)),
                  static_cast<unsigned>(s.tokens));
  const float scale_log2 = s.softmax_scale * kLog2e;
  kernel<<<grid, kThreads, smem, stream>>>(b.batch, g, static_cast<const T*>(ql), static_cast<const T*>(qr),
                                           static_cast<const T*>(pool), topk, scale_log2, static_cast<T*>(out),
                                           b.partial);
  GLM_CUDA_CHECK_LAUNCH();
  if (g.splits > 1) {
    CombineKernel<T><<<dim3(static_cast<unsigned>(s.n_heads), static_cast<unsigned>(s.tokens)), 128, 0, stream>>>(
        g, b.partial, static_cast<T*>(out));
    GLM_CUDA_CHECK_LAUNCH();
  }
}

template <typename T>
void LaunchForRank(const SparseMlaShape& s, const Geometry& g, const Buffers& b, const void* ql, const void* qr,
                   const void* pool, const int32_t* topk, void* out, cudaStream_t stream) {
  if (g.rank_pad <= 256)
    Launch<T, 1>(s, g, b, ql, qr, pool, topk, out, stream);
  else
    Launch<T, 2>(s, g, b, ql, qr, pool, topk, out, stream);
}

}  // namespace

size_t SparseMlaAttentionWorkspaceBytes(const SparseMlaShape& shape) {
  const Geometry g = MakeGeometry(shape);
  Workspace sizing;
  Carve(shape, g, sizing, nullptr);
  return sizing.Used();
}

void SparseMlaAttention(const SparseMlaShape& s, Activation type, const void* q_latent, const void* q_rope,
                        const void* kv_latent, const void* k_rope, const RopeTables& rope, void* latent_pool,
                        const int32_t* topk_indices, void* out, void* workspace, size_t workspace_bytes,
                        cudaStream_t stream) {
  if (s.tokens == 0) return;
  const Geometry g = MakeGeometry(s);
  Workspace ws(workspace, workspace_bytes);
  const Buffers b = Carve(s, g, ws, stream);
  if (s.rotate) {  // rope tables given: rotate every rope dim of q and k before the pool write and the scores
    RotateQueryAndKey(type, rope, s.tokens, s.n_heads, s.rope_dim, s.rope_dim, q_rope, k_rope, b.q_rope_rotated,
                      b.k_rope_rotated, stream);
    q_rope = b.q_rope_rotated;
    k_rope = b.k_rope_rotated;
  }
  WritePagedRows(type, b.batch, kv_latent, s.kv_lora_rank, k_rope, s.rope_dim, latent_pool, stream);
  if (type == Activation::kFloat32)
    LaunchForRank<float>(s, g, b, q_latent, q_rope, latent_pool, topk_indices, out, stream);
  else
    LaunchForRank<__nv_bfloat16>(s, g, b, q_latent, q_rope, latent_pool, topk_indices, out, stream);
}

}  // namespace glm_ops::cuda
