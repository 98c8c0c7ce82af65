#include "cuda/device_batch.h"

#include "cuda/cuda_check.h"

namespace glm_ops::cuda {

DeviceBatch UploadBatch(const PagedBatch& batch, Workspace& workspace, cudaStream_t stream) {
  DeviceBatch d;
  d.num_sequences = static_cast<int32_t>(batch.num_sequences);
  d.num_tokens = static_cast<int32_t>(batch.num_tokens);
  d.max_blocks = static_cast<int32_t>(batch.max_blocks);
  d.block_size = static_cast<int32_t>(batch.block_size);
  const size_t seqs = static_cast<size_t>(batch.num_sequences);
  const size_t table = seqs * static_cast<size_t>(batch.max_blocks);
  int32_t* cu = workspace.Take<int32_t>(seqs + 1);
  int32_t* past = workspace.Take<int32_t>(seqs);
  int32_t* block_table = workspace.Take<int32_t>(table);
  if (cu) {
    GLM_CUDA_CHECK(cudaMemcpyAsync(cu, batch.cu, (seqs + 1) * sizeof(int32_t), cudaMemcpyHostToDevice, stream));
    if (seqs) GLM_CUDA_CHECK(cudaMemcpyAsync(past, batch.past, seqs * sizeof(int32_t), cudaMemcpyHostToDevice, stream));
    if (table)
      GLM_CUDA_CHECK(
          cudaMemcpyAsync(block_table, batch.block_table, table * sizeof(int32_t), cudaMemcpyHostToDevice, stream));
  }
  d.cu = cu;
  d.past = past;
  d.block_table = block_table;
  return d;
}

}  // namespace glm_ops::cuda
