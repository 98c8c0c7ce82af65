#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <algorithm>

#include "cuda/cuda_check.h"
#include "cuda/dense_projection_cuda.h"
#include "cuda/device_common.cuh"

namespace glm_ops::cuda {

namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kTokenTile = 8;  // tokens sharing one pass over a weight row (register accumulators per lane)
constexpr int kVec = 8;        // weights per lane per step on the vector path (16 B of bf16, 8 B of FP8)

// e4m3 -> half2 is exact (every e4m3 value is a normal or subnormal half), NaN codes included.
__device__ __forceinline__ float2 DecodeE4M3Pair(uint16_t bits) {
  const __half2_raw h = __nv_cvt_fp8x2_to_halfraw2(static_cast<__nv_fp8x2_storage_t>(bits), __NV_E4M3);
  return __half22float2(__half2(h));
}

__device__ __forceinline__ float DecodeE4M3One(uint8_t bits) { return DecodeE4M3Pair(bits).x; }

// kVec consecutive weights of one row (`row`: its first stored byte), dequantised but not yet scaled. Requires
// 16-byte (bf16, float32 as two float4), 8-byte (FP8, int8) or 4-byte (int4) alignment: the caller takes this path
// only when `in` is a multiple of kVec (and k is).
template <ExpertWeightFormat F>
__device__ __forceinline__ void LoadVector(const uint8_t* row, int64_t k, float* out) {
  if constexpr (F == ExpertWeightFormat::kFloat32) {
    const float4* p = reinterpret_cast<const float4*>(reinterpret_cast<const float*>(row) + k);
    const float4 a = __ldg(p), b = __ldg(p + 1);
    out[0] = a.x;
    out[1] = a.y;
    out[2] = a.z;
    out[3] = a.w;
    out[4] = b.x;
    out[5] = b.y;
    out[6] = b.z;
    out[7] = b.w;
  } else if constexpr (F == ExpertWeightFormat::kBFloat16) {
    const uint4 raw = __ldg(reinterpret_cast<const uint4*>(reinterpret_cast<const uint16_t*>(row) + k));
    const uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {  // bf16 is the top half of a float32: widening is a shift
      out[2 * i] = __uint_as_float(w[i] << 16);
      out[2 * i + 1] = __uint_as_float(w[i] & 0xFFFF0000u);
    }
  } else if constexpr (F == ExpertWeightFormat::kFloat8E4M3) {
    const uint2 raw = __ldg(reinterpret_cast<const uint2*>(row + k));
    const uint32_t w[2] = {raw.x, raw.y};
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const float2 lo = DecodeE4M3Pair(static_cast<uint16_t>(w[i] & 0xFFFFu));
      const float2 hi = DecodeE4M3Pair(static_cast<uint16_t>(w[i] >> 16));
      out[4 * i] = lo.x;
      out[4 * i + 1] = lo.y;
      out[4 * i + 2] = hi.x;
      out[4 * i + 3] = hi.y;
    }
  } else if constexpr (F == ExpertWeightFormat::kInt8) {
    const uint2 raw = __ldg(reinterpret_cast<const uint2*>(row + k));
    const uint32_t w[2] = {raw.x, raw.y};
#pragma unroll
    for (int i = 0; i < 8; ++i) out[i] = static_cast<float>(static_cast<int8_t>((w[i / 4] >> (8 * (i % 4))) & 0xFFu));
  } else {  // int4: columns 2j, 2j+1 in the low and high nibble of byte j, stored as q + 8
    const uint32_t w = __ldg(reinterpret_cast<const uint32_t*>(row + k / 2));
#pragma unroll
    for (int i = 0; i < 8; ++i) out[i] = static_cast<float>(static_cast<int>((w >> (4 * i)) & 0xFu) - 8);
  }
}

template <ExpertWeightFormat F>
__device__ __forceinline__ float LoadScalar(const uint8_t* row, int64_t k) {
  if constexpr (F == ExpertWeightFormat::kFloat32) return reinterpret_cast<const float*>(row)[k];
  if constexpr (F == ExpertWeightFormat::kBFloat16)
    return __uint_as_float(static_cast<uint32_t>(reinterpret_cast<const uint16_t*>(row)[k]) << 16);
  if constexpr (F == ExpertWeightFormat::kFloat8E4M3) return DecodeE4M3One(row[k]);
  if constexpr (F == ExpertWeightFormat::kInt8) return static_cast<float>(static_cast<int8_t>(row[k]));
  const uint8_t byte = row[k / 2];
  return static_cast<float>(static_cast<int>((k & 1) ? byte >> 4 : byte & 0xF) - 8);
}

struct Args {
  const float* x;
  const void* w;
  const void* scales;  // FP8: float [ceil(out/qb), ceil(in/qb)]; int8/int4: float16 [out, ceil(in/qb)]
  float* y;
  const float* addend;  // [T, out] with kAddend (DenseProjection's optional input), else unused
  int64_t tokens, in, out, quant_block, scale_cols, row_bytes;
  int64_t group_rows;  // weight rows per group (out when groups == 1); group n / group_rows reads input columns from
                       // (n / group_rows) * in of rows input_width wide
  int64_t input_width;
};

// The scale of weight (n, k): FP8 per qb x qb block, int8/int4 per row and group of qb columns; 1 otherwise.
template <ExpertWeightFormat F>
__device__ __forceinline__ float ScaleAt(const Args& a, int64_t n, int64_t k) {
  if constexpr (F == ExpertWeightFormat::kFloat8E4M3)
    return __ldg(static_cast<const float*>(a.scales) + (n / a.quant_block) * a.scale_cols + k / a.quant_block);
  if constexpr (F == ExpertWeightFormat::kInt8 || F == ExpertWeightFormat::kInt4)
    return __half2float(
        __ushort_as_half(__ldg(static_cast<const unsigned short*>(a.scales) + n * a.scale_cols + k / a.quant_block)));
  return 1.0f;
}

// One warp per output row, grid-stride over rows; each lane sums its columns for up to kTokenTile tokens, then the
// warp reduces. Scales multiply each decoded vector (a vector never straddles a block or group: qb % 8 == 0).
// kAddend adds the addend as each sum is stored. A template flag rather than a null check: the runtime branch alone
// changed ptxas's register allocation of the plain kernels (a spill in the int8 vector path), and the plain
// projection, the common case, should compile exactly as it did without the addend. (nvcc 11.8 still spills one
// register in the int8 vector kernel with the addend: stored once per row, reloaded once per token tile, outside the
// inner loop.)
template <ExpertWeightFormat F, bool kVector, bool kAddend>
__global__ void __launch_bounds__(kThreads) DenseProjectionKernel(Args a) {
  constexpr bool kScaled = F != ExpertWeightFormat::kFloat32 && F != ExpertWeightFormat::kBFloat16;
  const int lane = threadIdx.x & 31;
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * kWarps) + (threadIdx.x >> 5);
  const int64_t warps = static_cast<int64_t>(gridDim.x) * kWarps;
  for (int64_t n = warp; n < a.out; n += warps) {
    const uint8_t* row = static_cast<const uint8_t*>(a.w) + n * a.row_bytes;
    const float* x = a.x + (n / a.group_rows) * a.in;  // this row's group's columns of every token
    for (int64_t t0 = 0; t0 < a.tokens; t0 += kTokenTile) {
      const int count = a.tokens - t0 < kTokenTile ? static_cast<int>(a.tokens - t0) : kTokenTile;
      float acc[kTokenTile];
#pragma unroll
      for (int t = 0; t < kTokenTile; ++t) acc[t] = 0.0f;
      if constexpr (kVector) {
        for (int64_t k = static_cast<int64_t>(lane) * kVec; k < a.in; k += 32 * kVec) {
          float wv[kVec];
          LoadVector<F>(row, k, wv);
          if constexpr (kScaled) {
            const float s = ScaleAt<F>(a, n, k);
#pragma unroll
            for (int i = 0; i < kVec; ++i) wv[i] *= s;
          }
#pragma unroll
          for (int t = 0; t < kTokenTile; ++t) {
            if (t < count) {
              const float* xr = x + (t0 + t) * a.input_width + k;
              const float4 x0 = __ldg(reinterpret_cast<const float4*>(xr));
              const float4 x1 = __ldg(reinterpret_cast<const float4*>(xr) + 1);
              acc[t] += wv[0] * x0.x + wv[1] * x0.y + wv[2] * x0.z + wv[3] * x0.w + wv[4] * x1.x + wv[5] * x1.y +
                        wv[6] * x1.z + wv[7] * x1.w;
            }
          }
        }
      } else {
        for (int64_t k = lane; k < a.in; k += 32) {
          float wk = LoadScalar<F>(row, k);
          if constexpr (kScaled) wk *= ScaleAt<F>(a, n, k);
#pragma unroll
          for (int t = 0; t < kTokenTile; ++t)
            if (t < count) acc[t] += wk * __ldg(x + (t0 + t) * a.input_width + k);
        }
      }
#pragma unroll
      for (int t = 0; t < kTokenTile; ++t) {
        const float sum = WarpSum(acc[t]);
        if (lane == 0 && t < count) {
          // The float32 sum rounded, then the addend added: the CPU node's projection followed by `+= addend`.
          const int64_t i = (t0 + t) * a.out + n;
          if constexpr (kAddend)
            a.y[i] = sum + __ldg(a.addend + i);
          else
            a.y[i] = sum;
        }
      }
    }
  }
}

template <ExpertWeightFormat F, bool kAddend>
void Launch(const Args& a, bool vector, cudaStream_t stream) {
  // Enough blocks to fill the GPU several times over; rows beyond the grid are taken in grid-stride order.
  const int64_t blocks = std::min<int64_t>(CeilDiv(a.out, kWarps), 65535);
  if (vector)
    DenseProjectionKernel<F, true, kAddend><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(a);
  else
    DenseProjectionKernel<F, false, kAddend><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(a);
  GLM_CUDA_CHECK(cudaGetLastError());
}

template <ExpertWeightFormat F>
void Launch(const Args& a, bool vector, cudaStream_t stream) {
  if (a.addend)
    Launch<F, true>(a, vector, stream);
  else
    Launch<F, false>(a, vector, stream);
}

}  // namespace

void DenseProjection(const DenseProjectionShape& s, const float* input, const DenseWeight& weight, const float* addend,
                     float* output, cudaStream_t stream) {
  if (s.tokens == 0) return;
  const Args a{input,
               weight.data,
               weight.scales,
               output,
               addend,
               s.tokens,
               s.in,
               s.out,
               s.quant_block_size,
               s.ScaleCols(),
               ExpertRowBytes(s.format, s.in),
               s.GroupRows(),
               s.InputWidth()};
  // Rows start on kVec-element boundaries only when `in` is a multiple of kVec (the tensors themselves are
  // allocator-aligned); other widths take the scalar path.
  const bool vector = s.in % kVec == 0;
  switch (s.format) {
    case ExpertWeightFormat::kFloat32: return Launch<ExpertWeightFormat::kFloat32>(a, vector, stream);
    case ExpertWeightFormat::kBFloat16: return Launch<ExpertWeightFormat::kBFloat16>(a, vector, stream);
    case ExpertWeightFormat::kFloat8E4M3: return Launch<ExpertWeightFormat::kFloat8E4M3>(a, vector, stream);
    case ExpertWeightFormat::kInt8: return Launch<ExpertWeightFormat::kInt8>(a, vector, stream);
    case ExpertWeightFormat::kInt4: return Launch<ExpertWeightFormat::kInt4>(a, vector, stream);
  }
}

}  // namespace glm_ops::cuda
