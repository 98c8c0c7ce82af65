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

// kVec consecutive weights of one row, dequantised but not yet block-scaled. Requires 16-byte (bf16), 8-byte (FP8)
// or 16-byte (float32, two float4) alignment: the caller takes this path only when `in` is a multiple of kVec.
template <ExpertWeightFormat F>
__device__ __forceinline__ void LoadVector(const void* row, int64_t k, float* out) {
  if constexpr (F == ExpertWeightFormat::kFloat32) {
    const float4* p = reinterpret_cast<const float4*>(static_cast<const float*>(row) + k);
    const float4 a = __ldg(p), b = __ldg(p + 1);
    out[0] = a.x; out[1] = a.y; out[2] = a.z; out[3] = a.w;
    out[4] = b.x; out[5] = b.y; out[6] = b.z; out[7] = b.w;
  } else if constexpr (F == ExpertWeightFormat::kBFloat16) {
    const uint4 raw = __ldg(reinterpret_cast<const uint4*>(static_cast<const uint16_t*>(row) + k));
    const uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
    for (int i = 0; i < 4; ++i) {  // bf16 is the top half of a float32: widening is a shift
      out[2 * i] = __uint_as_float(w[i] << 16);
      out[2 * i + 1] = __uint_as_float(w[i] & 0xFFFF0000u);
    }
  } else {
    const uint2 raw = __ldg(reinterpret_cast<const uint2*>(static_cast<const uint8_t*>(row) + k));
    const uint32_t w[2] = {raw.x, raw.y};
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const float2 lo = DecodeE4M3Pair(static_cast<uint16_t>(w[i] & 0xFFFFu));
      const float2 hi = DecodeE4M3Pair(static_cast<uint16_t>(w[i] >> 16));
      out[4 * i] = lo.x; out[4 * i + 1] = lo.y; out[4 * i + 2] = hi.x; out[4 * i + 3] = hi.y;
    }
  }
}

template <ExpertWeightFormat F>
__device__ __forceinline__ float LoadScalar(const void* row, int64_t k) {
  if constexpr (F == ExpertWeightFormat::kFloat32) return static_cast<const float*>(row)[k];
  if constexpr (F == ExpertWeightFormat::kBFloat16)
    return __uint_as_float(static_cast<uint32_t>(static_cast<const uint16_t*>(row)[k]) << 16);
  return DecodeE4M3One(static_cast<const uint8_t*>(row)[k]);
}

struct Args {
  const float* x;
  const void* w;
  const float* scales;
  float* y;
  int64_t tokens, in, out, quant_block, scale_cols;
};

// One warp per output row, grid-stride over rows; each lane sums its columns for up to kTokenTile tokens, then the
// warp reduces. FP8 block scales multiply each decoded vector (a vector never straddles a block: qb % 8 == 0).
template <ExpertWeightFormat F, bool kVector>
__global__ void __launch_bounds__(kThreads) DenseProjectionKernel(Args a) {
  constexpr bool kFp8 = F == ExpertWeightFormat::kFloat8E4M3;
  constexpr int64_t kElementBytes = F == ExpertWeightFormat::kFloat32 ? 4 : F == ExpertWeightFormat::kBFloat16 ? 2 : 1;
  const int lane = threadIdx.x & 31;
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * kWarps) + (threadIdx.x >> 5);
  const int64_t warps = static_cast<int64_t>(gridDim.x) * kWarps;
  for (int64_t n = warp; n < a.out; n += warps) {
    const void* row = static_cast<const uint8_t*>(a.w) + n * a.in * kElementBytes;
    const float* scale_row = kFp8 ? a.scales + (n / a.quant_block) * a.scale_cols : nullptr;
    for (int64_t t0 = 0; t0 < a.tokens; t0 += kTokenTile) {
      const int count = a.tokens - t0 < kTokenTile ? static_cast<int>(a.tokens - t0) : kTokenTile;
      float acc[kTokenTile];
#pragma unroll
      for (int t = 0; t < kTokenTile; ++t) acc[t] = 0.0f;
      if constexpr (kVector) {
        for (int64_t k = static_cast<int64_t>(lane) * kVec; k < a.in; k += 32 * kVec) {
          float wv[kVec];
          LoadVector<F>(row, k, wv);
          if constexpr (kFp8) {
            const float s = __ldg(scale_row + k / a.quant_block);
#pragma unroll
            for (int i = 0; i < kVec; ++i) wv[i] *= s;
          }
#pragma unroll
          for (int t = 0; t < kTokenTile; ++t) {
            if (t < count) {
              const float* xr = a.x + (t0 + t) * a.in + k;
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
          if constexpr (kFp8) wk *= __ldg(scale_row + k / a.quant_block);
#pragma unroll
          for (int t = 0; t < kTokenTile; ++t)
            if (t < count) acc[t] += wk * __ldg(a.x + (t0 + t) * a.in + k);
        }
      }
#pragma unroll
      for (int t = 0; t < kTokenTile; ++t) {
        const float sum = WarpSum(acc[t]);
        if (lane == 0 && t < count) a.y[(t0 + t) * a.out + n] = sum;
      }
    }
  }
}

template <ExpertWeightFormat F>
void Launch(const Args& a, bool vector, cudaStream_t stream) {
  // Enough blocks to fill the GPU several times over; rows beyond the grid are taken in grid-stride order.
  const int64_t blocks = std::min<int64_t>(CeilDiv(a.out, kWarps), 65535);
  if (vector)
    DenseProjectionKernel<F, true><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(a);
  else
    DenseProjectionKernel<F, false><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(a);
  GLM_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void DenseProjection(const DenseProjectionShape& s, const float* input, const DenseWeight& weight, float* output,
                     cudaStream_t stream) {
  if (s.tokens == 0) return;
  const Args a{input, weight.data, weight.scales, output, s.tokens, s.in, s.out, s.quant_block_size, s.ScaleCols()};
  // Rows start on kVec-element boundaries only when `in` is a multiple of kVec (the tensors themselves are
  // allocator-aligned); other widths take the scalar path.
  const bool vector = s.in % kVec == 0;
  switch (s.format) {
    case ExpertWeightFormat::kFloat32: return Launch<ExpertWeightFormat::kFloat32>(a, vector, stream);
    case ExpertWeightFormat::kBFloat16: return Launch<ExpertWeightFormat::kBFloat16>(a, vector, stream);
    case ExpertWeightFormat::kFloat8E4M3: return Launch<ExpertWeightFormat::kFloat8E4M3>(a, vector, stream);
  }
}

}  // namespace glm_ops::cuda
