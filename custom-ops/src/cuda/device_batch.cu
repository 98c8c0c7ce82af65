#include "cuda/device_batch.h"

#include <algorithm>
#include <cstddef>
#include <vector>

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
  // One staging copy and one upload: [cu | past | block_table]. A pageable upload costs microseconds of driver
  // time each, which matters next to a ~20 us decode kernel.
  int32_t* base = workspace.Take<int32_t>(2 * seqs + 1 + table);
  if (base) {
    std::vector<int32_t> staging(2 * seqs + 1 + table);
    std::copy(batch.cu, batch.cu + seqs + 1, staging.begin());
    std::copy(batch.past, batch.past + seqs, staging.begin() + static_cast<std::ptrdiff_t>(seqs + 1));
    std::copy(batch.block_table, batch.block_table + table,
              staging.begin() + static_cast<std::ptrdiff_t>(2 * seqs + 1));
    GLM_CUDA_CHECK(cudaMemcpyAsync(base, staging.data(), staging.size() * sizeof(int32_t), cudaMemcpyHostToDevice,
                                   stream));
  }
  d.cu = base;
  d.past = base ? base + seqs + 1 : nullptr;
  d.block_table = base ? base + 2 * seqs + 1 : nullptr;
  return d;
}

}  // namespace glm_ops::cuda
