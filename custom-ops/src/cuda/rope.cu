#include <stdexcept>
#include <string>

#include "cuda/cuda_check.h"
#include "cuda/device_common.cuh"
#include "cuda/rope_cuda.h"

namespace glm_ops::cuda {

namespace {

// One thread per output element (coalesced; a pair's partner is the neighbouring thread's element, so its second
// load hits L1). Elements [0, q_count) are q's, the rest k's, so the query and the key cost one launch. The
// products use explicit intrinsics because nvcc would otherwise pick its own FMA contraction: the CPU kernel's
// explicit std::fma order (cpu/rope.cc: b sin rounded, then fused into a cos - .; a sin rounded, then fused into
// b cos + .), so float32 pool rows written by the two agree bit for bit.
template <typename T>
__global__ void __launch_bounds__(kElementwiseThreads)
    RotateKernel(const T* q, const T* k, T* q_out, T* k_out, const float* cos, const float* sin, int64_t q_count,
                 int64_t total, int heads, int head_dim, int rotary_dim) {
  const int half = rotary_dim / 2;
  const int64_t stride = int64_t{gridDim.x} * kElementwiseThreads;
  for (int64_t i = blockIdx.x * int64_t{kElementwiseThreads} + threadIdx.x; i < total; i += stride) {
    const bool is_q = i < q_count;
    const int64_t e = is_q ? i : i - q_count;  // element index inside q or k
    const T* x = is_q ? q : k;
    T* out = is_q ? q_out : k_out;
    const int d = static_cast<int>(e % head_dim);
    if (d >= rotary_dim) {
      out[e] = x[e];
      continue;
    }
    const int64_t token = e / head_dim / (is_q ? heads : 1);
    const int64_t pair = e - (d & 1);
    const float a = ToFloat(x[pair]), b = ToFloat(x[pair + 1]);
    const float c = cos[token * half + d / 2], s = sin[token * half + d / 2];
    const float v = (d & 1) == 0 ? __fmaf_rn(a, c, -__fmul_rn(b, s)) : __fmaf_rn(b, c, __fmul_rn(a, s));
    out[e] = FromFloat<T>(v);
  }
}

template <typename T>
void Launch(const RopeTables& tables, int64_t tokens, int64_t heads, int64_t head_dim, int64_t rotary_dim,
            const void* q, const void* k, void* q_out, void* k_out, cudaStream_t stream) {
  const int64_t q_count = tokens * heads * head_dim, total = q_count + tokens * head_dim;
  const unsigned blocks = ElementwiseBlocks(total);
  RotateKernel<T><<<blocks, kElementwiseThreads, 0, stream>>>(
      static_cast<const T*>(q), static_cast<const T*>(k), static_cast<T*>(q_out), static_cast<T*>(k_out), tables.cos,
      tables.sin, q_count, total, static_cast<int>(heads), static_cast<int>(head_dim), static_cast<int>(rotary_dim));
  GLM_CUDA_CHECK_LAUNCH();
}

}  // namespace

void RotateQueryAndKey(Activation type, const RopeTables& tables, int64_t tokens, int64_t heads, int64_t head_dim,
                       int64_t rotary_dim, const void* q, const void* k, void* q_out, void* k_out,
                       cudaStream_t stream) {
  // The validated shape says the tables were given; null pointers here mean a caller passed RopeTables{} anyway.
  if (!tables.present() || tables.sin == nullptr)
    throw std::invalid_argument("rope (CUDA): the shape asks for rotary_dim " + std::to_string(rotary_dim) +
                                " but rope_cos / rope_sin are missing");
  if (rotary_dim < 2 || rotary_dim % 2 != 0 || rotary_dim > head_dim)
    throw std::invalid_argument("rope (CUDA): rotary_dim " + std::to_string(rotary_dim) +
                                ": expected an even value in [2, head_dim = " + std::to_string(head_dim) + "]");
  if (tokens == 0) return;
  if (type == Activation::kFloat32)
    Launch<float>(tables, tokens, heads, head_dim, rotary_dim, q, k, q_out, k_out, stream);
  else
    Launch<__nv_bfloat16>(tables, tokens, heads, head_dim, rotary_dim, q, k, q_out, k_out, stream);
}

}  // namespace glm_ops::cuda
