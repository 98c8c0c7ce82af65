// The packed paged batch on the device: the validated host PagedBatch's arrays copied into workspace memory on the
// caller's stream (cudaMemcpyAsync from pageable memory stages the bytes before returning, so the host arrays may
// be released right after). Sizes travel by value in kernel parameters.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "common/paged_batch.h"
#include "cuda/workspace.h"

namespace glm_ops::cuda {

struct DeviceBatch {
  int32_t num_sequences = 0;
  int32_t num_tokens = 0;
  int32_t max_blocks = 0;
  int32_t block_size = 0;
  const int32_t* cu = nullptr;           // [num_sequences + 1]
  const int32_t* past = nullptr;         // [num_sequences]
  const int32_t* block_table = nullptr;  // [num_sequences, max_blocks]
};

// Takes workspace for the arrays and (when the workspace has a buffer) enqueues their upload on `stream`.
DeviceBatch UploadBatch(const PagedBatch& batch, Workspace& workspace, cudaStream_t stream);

}  // namespace glm_ops::cuda
