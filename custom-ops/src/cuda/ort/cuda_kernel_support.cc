#include "cuda/ort/cuda_kernel_support.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/input_error.h"
#include "cuda/cuda_check.h"

namespace glm_ops::ort::cuda_ep {

namespace {

bool EnvFlag(const char* name) {
  const char* value = std::getenv(name);
  return value && std::strcmp(value, "0") != 0 && value[0] != '\0';
}

}  // namespace

cudaStream_t ComputeStream(const Ort::KernelContext& context) {
  return static_cast<cudaStream_t>(context.GetGPUComputeStream());
}

Scratch::Scratch(const Ort::KernelContext& context, const Ort::ConstValue& device_value, size_t bytes)
    : bytes_(bytes) {
  if (bytes == 0) return;
  const Ort::ConstMemoryInfo info = device_value.GetTensorMemoryInfo();
  const OrtMemoryInfo* raw_info = info;
  allocator_ = context.GetAllocator(*raw_info);
  data_ = allocator_.Alloc(bytes);
}

Scratch::~Scratch() {
  if (data_) allocator_.Free(data_);
}

void CheckPoolOnDevice(const char* op, const char* input, const Ort::ConstValue& value) {
  const void* pointer = value.GetTensorRawData();
  const auto info = value.GetTensorMemoryInfo();
  cudaPointerAttributes attributes{};
  const cudaError_t status = cudaPointerGetAttributes(&attributes, pointer);
  int device = -1;
  GLM_CUDA_CHECK(cudaGetDevice(&device));
  if (status != cudaSuccess || attributes.type != cudaMemoryTypeDevice || attributes.device != device) {
    cudaGetLastError();  // clear a sticky "invalid value" from a host pointer
    FailInput(op, input, "is not device memory of the kernel's GPU",
              "a pool allocated on CUDA device " + std::to_string(device) + " and bound in place",
              std::string("memory '") + info.GetAllocatorName() + "' (cuda pointer type " +
                  std::to_string(static_cast<int>(attributes.type)) + ", device " + std::to_string(attributes.device) +
                  ")");
  }
  if (EnvFlag("GLM_OPS_CUDA_TRACE_POOLS")) std::fprintf(stderr, "glm_onnx_ops: %s %s at %p\n", op, input, pointer);
}

bool DebugChecksEnabled() {
  static const bool enabled = EnvFlag("GLM_OPS_CUDA_DEBUG_CHECKS");
  return enabled;
}

}  // namespace glm_ops::ort::cuda_ep
