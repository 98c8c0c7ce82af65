// Host-side CUDA error handling for the CUDA kernels library: every runtime call is checked and a failure becomes a
// std::runtime_error naming the call, the CUDA error and the source line (the ORT wrappers turn it into ORT_FAIL).
#pragma once

#include <cuda_runtime_api.h>

namespace glm_ops::cuda {

[[noreturn]] void FailCuda(cudaError_t error, const char* call, const char* file, int line);

}  // namespace glm_ops::cuda

#define GLM_CUDA_CHECK(call)                                                        \
  do {                                                                              \
    const cudaError_t glm_cuda_status_ = (call);                                    \
    if (glm_cuda_status_ != cudaSuccess)                                            \
      ::glm_ops::cuda::FailCuda(glm_cuda_status_, #call, __FILE__, __LINE__);       \
  } while (0)

// After a kernel launch: catches bad launch configurations without synchronising the device.
#define GLM_CUDA_CHECK_LAUNCH() GLM_CUDA_CHECK(cudaGetLastError())
