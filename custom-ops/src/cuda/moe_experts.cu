#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "cuda/block_scan.cuh"
#include "cuda/cuda_check.h"
#include "cuda/device_common.cuh"
#include "cuda/moe_experts_cuda.h"

namespace glm_ops::cuda {

namespace {

constexpr int kPlanThreads = 1024;
constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kRowsPerBlock = 32;   // 4 rows per warp: each weight row is read by exactly one warp
constexpr int kMaxTokenTile = 8;    // tokens sharing one pass over the weights (register accumulators per row)
constexpr size_t kActivationSmem = 96 * 1024;  // shared memory for the token tile's activations
constexpr int kUnroll = 4;          // weight vectors in flight per lane

// Pair p = token * per_token + k is route k of its token, as RouteExpert / RouteWeight define it
// (common/moe_experts_validation.h): the router's k-th choice and weight for k < top_k, else shared expert
// routed + (k - top_k) with weight 1. Shared routes never read expert_ids / expert_weights.
struct PairRoutes {
  int top_k;      // router choices per token: the row stride of expert_ids and expert_weights
  int per_token;  // top_k + shared experts
  int routed;     // router ids must lie in [0, routed)

  __device__ int Token(int pair) const { return pair / per_token; }
  // The pair's expert, or -1 for a router id outside [0, routed) (the pair adds nothing).
  __device__ int Expert(const int32_t* ids, int pair) const {
    const int token = pair / per_token, k = pair % per_token;
    if (k >= top_k) return routed + (k - top_k);
    const int e = ids[token * top_k + k];
    return e >= 0 && e < routed ? e : -1;
  }
  __device__ float Weight(const float* weights, int pair) const {
    const int token = pair / per_token, k = pair % per_token;
    return k < top_k ? weights[token * top_k + k] : 1.0f;
  }
};

PairRoutes RoutesOf(const MoeExpertsShape& s) {
  return {static_cast<int>(s.top_k), static_cast<int>(s.Routes()), static_cast<int>(s.RoutedExperts())};
}

// (token, route) pairs grouped by expert. Filled on the device by PlanKernel, so no host round trip.
struct Plan {
  int32_t* counts;   // [E]
  int32_t* offsets;  // [E + 1]
  int32_t* cursor;   // [E]
  int32_t* active;   // [E]: experts with at least one pair, ascending
  int32_t* num_active;
  uint32_t* invalid;  // router ids outside [0, routed experts)
  int32_t* pairs;    // [P]: pair index (PairRoutes), grouped by expert
};

struct Buffers {
  Plan plan;
  float* h;  // [P, inter]: SiLU(gate) * up per sorted slot
  float* y;  // [P, hidden]: expert_weight * down(...) per pair index
};

Buffers Carve(const MoeExpertsShape& s, Workspace& ws) {
  const size_t E = static_cast<size_t>(s.experts), P = static_cast<size_t>(s.tokens * s.Routes());
  Buffers b;
  b.plan.counts = ws.Take<int32_t>(E);
  b.plan.offsets = ws.Take<int32_t>(E + 1);
  b.plan.cursor = ws.Take<int32_t>(E);
  b.plan.active = ws.Take<int32_t>(E);
  b.plan.num_active = ws.Take<int32_t>(1);
  b.plan.invalid = ws.Take<uint32_t>(1);
  b.plan.pairs = ws.Take<int32_t>(P);
  b.h = ws.Take<float>(P * static_cast<size_t>(s.inter));
  b.y = ws.Take<float>(P * static_cast<size_t>(s.hidden));
  return b;
}

// One block: histogram of pairs per expert, exclusive scan, compaction of the active experts, scatter of pairs.
__global__ void __launch_bounds__(kPlanThreads)
    PlanKernel(const int32_t* ids, PairRoutes routes, int pairs, int experts, Plan plan) {
  __shared__ uint32_t scratch[35];
  __shared__ uint32_t carry_offset, carry_active;
  for (int e = threadIdx.x; e < experts; e += kPlanThreads) plan.counts[e] = 0;
  if (threadIdx.x == 0) {
    *plan.invalid = 0;
    carry_offset = 0;
    carry_active = 0;
  }
  __syncthreads();
  for (int p = threadIdx.x; p < pairs; p += kPlanThreads) {
    const int e = routes.Expert(ids, p);
    if (e >= 0)
      atomicAdd(&plan.counts[e], 1);
    else
      atomicAdd(plan.invalid, 1u);
  }
  __syncthreads();
  for (int e0 = 0; e0 < experts; e0 += kPlanThreads) {
    const int e = e0 + threadIdx.x;
    const uint32_t count = e < experts ? static_cast<uint32_t>(plan.counts[e]) : 0;
    uint32_t total_count, total_active;
    const uint32_t offset = BlockExclusiveSum(count, scratch, &total_count);
    const uint32_t rank = BlockExclusiveSum(count > 0 ? 1u : 0u, scratch, &total_active);
    if (e < experts) {
      plan.offsets[e] = static_cast<int32_t>(carry_offset + offset);
      plan.cursor[e] = static_cast<int32_t>(carry_offset + offset);
      if (count > 0) plan.active[carry_active + rank] = e;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      carry_offset += total_count;
      carry_active += total_active;
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    plan.offsets[experts] = static_cast<int32_t>(carry_offset);
    *plan.num_active = static_cast<int32_t>(carry_active);
  }
  __syncthreads();
  for (int p = threadIdx.x; p < pairs; p += kPlanThreads) {
    const int e = routes.Expert(ids, p);
    if (e >= 0) plan.pairs[atomicAdd(&plan.cursor[e], 1)] = p;
  }
}

// int4 weights: one byte holds columns 2j (low nibble) and 2j+1 (high nibble), each as q + 8.
struct Int4Pair {
  uint8_t bits;
};

// Stored elements per row of `cols` weights, and the scale layout of each weight type: FP8 one float per
// quant_block x quant_block block, int8/int4 one float16 per row and group of quant_block columns.
template <typename W>
struct WeightTraits {
  static constexpr bool kRowScales = false;
  using Scale = float;
  static __host__ __device__ int64_t RowElements(int64_t cols) { return cols; }
};
template <>
struct WeightTraits<int8_t> {
  static constexpr bool kRowScales = true;
  using Scale = __half;
  static __host__ __device__ int64_t RowElements(int64_t cols) { return cols; }
};
template <>
struct WeightTraits<Int4Pair> {
  static constexpr bool kRowScales = true;
  using Scale = __half;
  static __host__ __device__ int64_t RowElements(int64_t cols) { return (cols + 1) / 2; }
};

__device__ __forceinline__ float ScaleValue(float s) { return s; }
__device__ __forceinline__ float ScaleValue(__half s) { return __half2float(s); }

// ---- weight decoding: kVec consecutive elements of one row, from column k, to float ----
template <typename W, int kVec>
struct WeightVector;

template <>
struct WeightVector<float, 4> {
  static __device__ __forceinline__ void Load(const float* row, int k, float* out) {
    const float4 v = *reinterpret_cast<const float4*>(row + k);
    out[0] = v.x; out[1] = v.y; out[2] = v.z; out[3] = v.w;
  }
};
template <>
struct WeightVector<float, 1> {
  static __device__ __forceinline__ void Load(const float* row, int k, float* out) { out[0] = row[k]; }
};
template <>
struct WeightVector<__nv_bfloat16, 8> {
  static __device__ __forceinline__ void Load(const __nv_bfloat16* row, int k, float* out) {
    const uint4 raw = *reinterpret_cast<const uint4*>(row + k);
    const uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      out[2 * i] = __uint_as_float(w[i] << 16);
      out[2 * i + 1] = __uint_as_float(w[i] & 0xFFFF0000u);
    }
  }
};
template <>
struct WeightVector<__nv_bfloat16, 1> {
  static __device__ __forceinline__ void Load(const __nv_bfloat16* row, int k, float* out) {
    out[0] = __bfloat162float(row[k]);
  }
};
// e4m3 -> half2 is exact (every e4m3 value is a normal or subnormal half) and one instruction per pair on sm_90.
__device__ __forceinline__ float2 DecodeE4M3Pair(uint16_t bits) {
  const __half2_raw h = __nv_cvt_fp8x2_to_halfraw2(static_cast<__nv_fp8x2_storage_t>(bits), __NV_E4M3);
  return __half22float2(__half2(h));
}
template <>
struct WeightVector<uint8_t, 16> {
  static __device__ __forceinline__ void Load(const uint8_t* row, int k, float* out) {
    const uint4 raw = *reinterpret_cast<const uint4*>(row + k);
    const uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const float2 lo = DecodeE4M3Pair(static_cast<uint16_t>(w[i] & 0xFFFFu));
      const float2 hi = DecodeE4M3Pair(static_cast<uint16_t>(w[i] >> 16));
      out[4 * i] = lo.x; out[4 * i + 1] = lo.y; out[4 * i + 2] = hi.x; out[4 * i + 3] = hi.y;
    }
  }
};
template <>
struct WeightVector<uint8_t, 1> {
  static __device__ __forceinline__ void Load(const uint8_t* row, int k, float* out) {
    out[0] = DecodeE4M3Pair(static_cast<uint16_t>(row[k])).x;
  }
};
template <>
struct WeightVector<int8_t, 16> {
  static __device__ __forceinline__ void Load(const int8_t* row, int k, float* out) {
    const uint4 raw = *reinterpret_cast<const uint4*>(row + k);
    const uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int b = 0; b < 4; ++b) out[4 * i + b] = static_cast<float>(static_cast<int8_t>(w[i] >> (8 * b)));
  }
};
template <>
struct WeightVector<int8_t, 1> {
  static __device__ __forceinline__ void Load(const int8_t* row, int k, float* out) {
    out[0] = static_cast<float>(row[k]);
  }
};
// 16 int4 weights from 8 bytes (k is a multiple of 16, so the bytes start at k / 2, 8-byte aligned).
template <>
struct WeightVector<Int4Pair, 16> {
  static __device__ __forceinline__ void Load(const Int4Pair* row, int k, float* out) {
    const uint2 raw = *reinterpret_cast<const uint2*>(row + k / 2);
    const uint32_t w[2] = {raw.x, raw.y};
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
      for (int n = 0; n < 8; ++n) out[8 * i + n] = static_cast<float>(static_cast<int>((w[i] >> (4 * n)) & 15u) - 8);
  }
};
template <>
struct WeightVector<Int4Pair, 1> {
  static __device__ __forceinline__ void Load(const Int4Pair* row, int k, float* out) {
    const uint8_t byte = row[k / 2].bits;
    out[0] = static_cast<float>(static_cast<int>((k & 1) ? byte >> 4 : byte & 15) - 8);
  }
};

// Shared-memory activations: float4 index f is stored at f ^ ((f >> 3) & 7), so the 8 lanes of a 128-bit load
// phase hit 8 different bank groups whether a lane reads 4, 8 or 16 consecutive floats.
__device__ __forceinline__ int Swizzle(int k) {
  const int f = k >> 2;
  return ((f ^ ((f >> 3) & 7)) << 2) | (k & 3);
}

struct ProjectParams {
  int rows, cols, cols_pad;  // weight matrix [rows, cols] per expert; activations padded to cols_pad in smem
  PairRoutes routes;
  int token_tile;
  int quant_block, scale_cols;  // quantized formats only
  int inter;                    // width of h
};

// One block = kRowsPerBlock weight rows of one active expert; the routed tokens go token_tile at a time through
// shared memory. kGateUp: rows of gate and up together, epilogue SiLU(g) * u into h[slot]. Otherwise: rows of down,
// epilogue route weight * acc into y[pair].
template <typename TAct, typename W, int kVec, bool kGateUp>
__global__ void __launch_bounds__(kThreads) ProjectKernel(ProjectParams p, Plan plan, const TAct* x_tokens,
                                                          const float* x_slots, const W* w0_all, const W* w1_all,
                                                          const void* s0_all, const void* s1_all,
                                                          const float* expert_weights, float* h, float* y) {
  extern __shared__ __align__(16) float xs[];  // [token_tile][cols_pad], swizzled
  if (static_cast<int>(blockIdx.y) >= *plan.num_active) return;
  const int expert = plan.active[blockIdx.y];
  const int first = plan.offsets[expert], last = plan.offsets[expert + 1];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  using Traits = WeightTraits<W>;
  using S = typename Traits::Scale;
  const int64_t row_elements = Traits::RowElements(p.cols);
  const int64_t matrix = int64_t{p.rows} * row_elements;
  const W* w0 = w0_all + expert * matrix;
  const W* w1 = kGateUp ? w1_all + expert * matrix : nullptr;
  const int scale_rows = Traits::kRowScales ? p.rows : (p.rows + p.quant_block - 1) / p.quant_block;
  const S* s0 = s0_all ? static_cast<const S*>(s0_all) + int64_t{expert} * scale_rows * p.scale_cols : nullptr;
  const S* s1 =
      (kGateUp && s1_all) ? static_cast<const S*>(s1_all) + int64_t{expert} * scale_rows * p.scale_cols : nullptr;
  const int row0 = blockIdx.x * kRowsPerBlock;

  for (int t0 = first; t0 < last; t0 += p.token_tile) {
    const int n = min(p.token_tile, last - t0);
    __syncthreads();
    for (int i = threadIdx.x; i < n * p.cols_pad; i += kThreads) {
      const int t = i / p.cols_pad, k = i % p.cols_pad;
      float v = 0.0f;
      if (k < p.cols) {
        if (kGateUp)
          v = ToFloat(x_tokens[int64_t{p.routes.Token(plan.pairs[t0 + t])} * p.cols + k]);
        else
          v = x_slots[int64_t{t0 + t} * p.cols + k];
      }
      xs[t * p.cols_pad + Swizzle(k)] = v;
    }
    __syncthreads();
    for (int r = row0 + warp; r < min(row0 + kRowsPerBlock, p.rows); r += kWarps) {
      float acc0[kMaxTokenTile], acc1[kMaxTokenTile];
#pragma unroll
      for (int t = 0; t < kMaxTokenTile; ++t) acc0[t] = acc1[t] = 0.0f;
      const W* row_w0 = w0 + int64_t{r} * row_elements;
      const W* row_w1 = kGateUp ? w1 + int64_t{r} * row_elements : nullptr;
      const int scale_row = Traits::kRowScales ? r : r / p.quant_block;
      const S* row_s0 = s0 ? s0 + int64_t{scale_row} * p.scale_cols : nullptr;
      const S* row_s1 = s1 ? s1 + int64_t{scale_row} * p.scale_cols : nullptr;
      constexpr int kStep = 32 * kVec;
      for (int k0 = lane * kVec; k0 < p.cols; k0 += kStep * kUnroll) {
        float a[kUnroll][kVec], b[kUnroll][kVec];
        // Issue every load of the unrolled group before any arithmetic: kUnroll x 16 bytes in flight per lane
        // per matrix, which is what keeps HBM busy on a decode step.
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
          const int k = k0 + u * kStep;
          if (k < p.cols) {
            WeightVector<W, kVec>::Load(row_w0, k, a[u]);
            if (kGateUp) WeightVector<W, kVec>::Load(row_w1, k, b[u]);
          }
        }
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
          const int k = k0 + u * kStep;
          if (k >= p.cols) break;
          // A lane's kVec elements lie inside one quant block (kVec divides quant_block), so one scale each.
          const float sc0 = row_s0 ? ScaleValue(row_s0[k / p.quant_block]) : 1.0f;
          const float sc1 = row_s1 ? ScaleValue(row_s1[k / p.quant_block]) : 1.0f;
#pragma unroll
          for (int t = 0; t < kMaxTokenTile; ++t) {
            if (t >= n) break;
            const float* xt = xs + t * p.cols_pad;
            float d0 = 0.0f, d1 = 0.0f;
#pragma unroll
            for (int v = 0; v < kVec; v += (kVec >= 4 ? 4 : 1)) {
              if constexpr (kVec >= 4) {
                const float4 xv = *reinterpret_cast<const float4*>(xt + Swizzle(k + v));
                d0 += a[u][v] * xv.x + a[u][v + 1] * xv.y + a[u][v + 2] * xv.z + a[u][v + 3] * xv.w;
                if (kGateUp) d1 += b[u][v] * xv.x + b[u][v + 1] * xv.y + b[u][v + 2] * xv.z + b[u][v + 3] * xv.w;
              } else {
                const float xv = xt[Swizzle(k + v)];
                d0 += a[u][v] * xv;
                if (kGateUp) d1 += b[u][v] * xv;
              }
            }
            acc0[t] += d0 * sc0;
            if (kGateUp) acc1[t] += d1 * sc1;
          }
        }
      }
#pragma unroll
      for (int t = 0; t < kMaxTokenTile; ++t) {
        if (t >= n) break;
        const float g = WarpSum(acc0[t]);
        if (kGateUp) {
          const float u = WarpSum(acc1[t]);
          if (lane == 0) h[int64_t{t0 + t} * p.inter + r] = g / (1.0f + expf(-g)) * u;
        } else if (lane == 0) {
          const int pair = plan.pairs[t0 + t];
          y[int64_t{pair} * p.rows + r] = p.routes.Weight(expert_weights, pair) * g;
        }
      }
    }
  }
}

// out[i] = sum_k y[i * per_token + k] in k order (deterministic; pairs with an invalid id add nothing).
template <typename T>
__global__ void CombineKernel(const int32_t* ids, PairRoutes routes, int hidden, const float* y, T* out) {
  const int token = blockIdx.x;
  for (int d = threadIdx.x; d < hidden; d += blockDim.x) {
    float sum = 0.0f;
    for (int k = 0; k < routes.per_token; ++k) {
      const int pair = token * routes.per_token + k;
      if (routes.Expert(ids, pair) >= 0) sum += y[int64_t{pair} * hidden + d];
    }
    out[int64_t{token} * hidden + d] = FromFloat<T>(sum);
  }
}

// Elements per vector load: 16 bytes, except int4's 8 bytes (16 weights already fill a lane's registers).
template <typename W>
constexpr int VectorWidth() {
  return std::is_same<W, Int4Pair>::value ? 16 : 16 / static_cast<int>(sizeof(W));
}

int TokenTile(int cols_pad, int64_t tokens) {
  const int fit = static_cast<int>(kActivationSmem / (sizeof(float) * static_cast<size_t>(cols_pad)));
  if (fit < 1)
    throw std::invalid_argument("MoeExperts (CUDA): a row of " + std::to_string(cols_pad) +
                                " activations does not fit the shared-memory budget");
  return static_cast<int>(std::min<int64_t>({kMaxTokenTile, fit, tokens}));
}

template <typename TAct, typename W, int kVec, bool kGateUp>
void LaunchProject(const ProjectParams& p, unsigned active_slots, const Plan& plan, const TAct* x_tokens,
                   const float* x_slots, const void* w0, const void* w1, const void* s0, const void* s1,
                   const float* expert_weights, float* h, float* y, cudaStream_t stream) {
  auto kernel = ProjectKernel<TAct, W, kVec, kGateUp>;
  const size_t smem = sizeof(float) * static_cast<size_t>(p.token_tile) * p.cols_pad;
  GLM_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  const dim3 grid(static_cast<unsigned>(CeilDiv(p.rows, kRowsPerBlock)), active_slots);
  kernel<<<grid, kThreads, smem, stream>>>(p, plan, x_tokens, x_slots, static_cast<const W*>(w0),
                                           static_cast<const W*>(w1), s0, s1, expert_weights, h, y);
  GLM_CUDA_CHECK_LAUNCH();
}

template <typename TAct, typename W>
void RunExperts(const MoeExpertsShape& s, const Buffers& b, const TAct* hidden, const float* expert_weights,
                const DeviceExpertWeights& w, cudaStream_t stream) {
  constexpr int kWide = VectorWidth<W>();
  const bool scaled = ExpertFormatHasScales(s.format);
  const int qb = static_cast<int>(s.quant_block_size);
  // Vector loads need rows whose length is a multiple of the vector and, for quantized formats, vectors inside one
  // scale group.
  auto vector_ok = [&](int64_t cols) { return cols % kWide == 0 && (!scaled || qb % kWide == 0); };
  const int64_t pairs = s.tokens * s.Routes();
  const unsigned slots = static_cast<unsigned>(std::min<int64_t>(s.experts, pairs));

  ProjectParams up{};
  up.rows = static_cast<int>(s.inter);
  up.cols = static_cast<int>(s.hidden);
  up.cols_pad = static_cast<int>(CeilDiv(s.hidden, 32) * 32);
  up.routes = RoutesOf(s);
  up.token_tile = TokenTile(up.cols_pad, s.tokens);
  up.quant_block = qb;
  up.scale_cols = static_cast<int>(CeilDiv(s.hidden, qb));
  up.inter = static_cast<int>(s.inter);
  if (vector_ok(s.hidden))
    LaunchProject<TAct, W, kWide, true>(up, slots, b.plan, hidden, nullptr, w.gate, w.up, w.gate_scales,
                                        w.up_scales, expert_weights, b.h, b.y, stream);
  else
    LaunchProject<TAct, W, 1, true>(up, slots, b.plan, hidden, nullptr, w.gate, w.up, w.gate_scales, w.up_scales,
                                    expert_weights, b.h, b.y, stream);

  ProjectParams down{};
  down.rows = static_cast<int>(s.hidden);
  down.cols = static_cast<int>(s.inter);
  down.cols_pad = static_cast<int>(CeilDiv(s.inter, 32) * 32);
  down.routes = RoutesOf(s);
  down.token_tile = TokenTile(down.cols_pad, pairs);
  down.quant_block = qb;
  down.scale_cols = static_cast<int>(CeilDiv(s.inter, qb));
  down.inter = static_cast<int>(s.inter);
  if (vector_ok(s.inter))
    LaunchProject<TAct, W, kWide, false>(down, slots, b.plan, static_cast<const TAct*>(nullptr), b.h, w.down,
                                         nullptr, w.down_scales, nullptr, expert_weights, b.h, b.y, stream);
  else
    LaunchProject<TAct, W, 1, false>(down, slots, b.plan, static_cast<const TAct*>(nullptr), b.h, w.down, nullptr,
                                     w.down_scales, nullptr, expert_weights, b.h, b.y, stream);
}

template <typename TAct>
void RunForFormat(const MoeExpertsShape& s, const Buffers& b, const TAct* hidden, const int32_t* ids,
                  const float* expert_weights, const DeviceExpertWeights& w, TAct* out, cudaStream_t stream) {
  switch (s.format) {
    case ExpertWeightFormat::kFloat32: RunExperts<TAct, float>(s, b, hidden, expert_weights, w, stream); break;
    case ExpertWeightFormat::kBFloat16:
      RunExperts<TAct, __nv_bfloat16>(s, b, hidden, expert_weights, w, stream);
      break;
    case ExpertWeightFormat::kFloat8E4M3: RunExperts<TAct, uint8_t>(s, b, hidden, expert_weights, w, stream); break;
    case ExpertWeightFormat::kInt8: RunExperts<TAct, int8_t>(s, b, hidden, expert_weights, w, stream); break;
    case ExpertWeightFormat::kInt4: RunExperts<TAct, Int4Pair>(s, b, hidden, expert_weights, w, stream); break;
  }
  CombineKernel<TAct><<<static_cast<unsigned>(s.tokens), 256, 0, stream>>>(ids, RoutesOf(s),
                                                                          static_cast<int>(s.hidden), b.y, out);
  GLM_CUDA_CHECK_LAUNCH();
}

}  // namespace

size_t MoeExpertsWorkspaceBytes(const MoeExpertsShape& shape) {
  Workspace sizing;
  Carve(shape, sizing);
  return sizing.Used();
}

const uint32_t* MoeExpertsInvalidIdCount(const MoeExpertsShape& shape, const void* workspace) {
  Workspace ws(const_cast<void*>(workspace), MoeExpertsWorkspaceBytes(shape));
  return Carve(shape, ws).plan.invalid;
}

void MoeExperts(const MoeExpertsShape& s, Activation type, const void* hidden, const int32_t* expert_ids,
                const float* expert_weights, const DeviceExpertWeights& weights, void* out, void* workspace,
                size_t workspace_bytes, cudaStream_t stream) {
  if (s.tokens == 0) return;
  Workspace ws(workspace, workspace_bytes);
  const Buffers b = Carve(s, ws);
  PlanKernel<<<1, kPlanThreads, 0, stream>>>(expert_ids, RoutesOf(s), static_cast<int>(s.tokens * s.Routes()),
                                             static_cast<int>(s.experts), b.plan);
  GLM_CUDA_CHECK_LAUNCH();
  if (type == Activation::kFloat32)
    RunForFormat<float>(s, b, static_cast<const float*>(hidden), expert_ids, expert_weights, weights,
                        static_cast<float*>(out), stream);
  else
    RunForFormat<__nv_bfloat16>(s, b, static_cast<const __nv_bfloat16*>(hidden), expert_ids, expert_weights,
                                weights, static_cast<__nv_bfloat16*>(out), stream);
}

}  // namespace glm_ops::cuda
