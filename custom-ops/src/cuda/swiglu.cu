#include "cuda/cuda_check.h"
#include "cuda/device_common.cuh"
#include "cuda/swiglu_cuda.h"

namespace glm_ops::cuda {

namespace {

// One thread per output element, grid-stride: consecutive threads read consecutive gate and up columns, so both
// loads and the store are coalesced. The bytes (3 values per element) dominate; the exp is free next to them.
template <typename T>
__global__ void __launch_bounds__(kElementwiseThreads)
    SwiGluKernel(const T* __restrict__ gate_up, int64_t width, int64_t total, T* __restrict__ out) {
  const int64_t stride = int64_t{gridDim.x} * kElementwiseThreads;
  for (int64_t i = blockIdx.x * int64_t{kElementwiseThreads} + threadIdx.x; i < total; i += stride) {
    const int64_t t = i / width, c = i - t * width;
    const T* row = gate_up + t * 2 * width;
    const float g = ToFloat(row[c]), u = ToFloat(row[width + c]);
    // expf(-g) overflows to inf for g < -88: g / inf = -0, the limit of SiLU, as on the CPU.
    out[i] = FromFloat<T>(g / (1.0f + expf(-g)) * u);
  }
}

template <typename T>
void Launch(const void* gate_up, int64_t tokens, int64_t width, void* out, cudaStream_t stream) {
  const int64_t total = tokens * width;
  const unsigned blocks = ElementwiseBlocks(total);
  SwiGluKernel<T><<<blocks, kElementwiseThreads, 0, stream>>>(static_cast<const T*>(gate_up), width, total,
                                                              static_cast<T*>(out));
  GLM_CUDA_CHECK_LAUNCH();
}

}  // namespace

void SwiGluRows(Activation type, const void* gate_up, int64_t tokens, int64_t width, void* out, cudaStream_t stream) {
  if (tokens == 0 || width == 0) return;
  if (type == Activation::kFloat32)
    Launch<float>(gate_up, tokens, width, out, stream);
  else
    Launch<__nv_bfloat16>(gate_up, tokens, width, out, stream);
}

}  // namespace glm_ops::cuda
