#include "cuda/cuda_check.h"

#include <stdexcept>
#include <string>

namespace glm_ops::cuda {

void FailCuda(cudaError_t error, const char* call, const char* file, int line) {
  throw std::runtime_error(std::string("glm_onnx_ops CUDA: ") + call + " failed with " + cudaGetErrorName(error) +
                           " (" + cudaGetErrorString(error) + ") at " + file + ":" + std::to_string(line));
}

}  // namespace glm_ops::cuda
