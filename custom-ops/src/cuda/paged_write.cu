#include "cuda/paged_write.h"

#include "cuda/cuda_check.h"
#include "cuda/device_common.cuh"

namespace glm_ops::cuda {

namespace {

// One block per new token; a row is at most a few KiB, so plain coalesced element copies are enough.
template <typename T>
__global__ void WritePagedRowsKernel(DeviceBatch batch, const T* a, int64_t width_a, const T* b, int64_t width_b,
                                     T* pool) {
  const int token = blockIdx.x;
  const int seq = SequenceOf(batch, token);
  const int64_t pos = batch.past[seq] + (token - batch.cu[seq]);
  const int64_t width = width_a + width_b;
  T* row = pool + PoolRow(batch, seq, pos) * width;
  for (int64_t d = threadIdx.x; d < width_a; d += blockDim.x) row[d] = a[token * width_a + d];
  for (int64_t d = threadIdx.x; d < width_b; d += blockDim.x) row[width_a + d] = b[token * width_b + d];
}

}  // namespace

void WritePagedRows(Activation type, const DeviceBatch& batch, const void* a, int64_t width_a, const void* b,
                    int64_t width_b, void* pool, cudaStream_t stream) {
  if (batch.num_tokens == 0) return;
  if (type == Activation::kFloat32)
    WritePagedRowsKernel<float><<<batch.num_tokens, 128, 0, stream>>>(
        batch, static_cast<const float*>(a), width_a, static_cast<const float*>(b), width_b, static_cast<float*>(pool));
  else
    WritePagedRowsKernel<__nv_bfloat16><<<batch.num_tokens, 128, 0, stream>>>(
        batch, static_cast<const __nv_bfloat16*>(a), width_a, static_cast<const __nv_bfloat16*>(b), width_b,
        static_cast<__nv_bfloat16*>(pool));
  GLM_CUDA_CHECK_LAUNCH();
}

}  // namespace glm_ops::cuda
