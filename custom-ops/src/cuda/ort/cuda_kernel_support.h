// Glue shared by the CUDA-EP wrappers: the compute stream ONNX Runtime hands the kernel, scratch memory from ORT's
// allocator for the device the inputs live on (released when Compute returns; ORT's CUDA allocator is stream-ordered,
// so later kernels on the same stream may reuse it safely), and the check that a cache pool arrives as a device
// pointer (a pool bound with the wrong memory info would be copied by ORT and the in-place writes lost).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

#include "ort/kernel_support.h"

namespace glm_ops::ort::cuda_ep {

inline constexpr const char* kProvider = "CUDAExecutionProvider";

cudaStream_t ComputeStream(const Ort::KernelContext& context);

class Scratch {
 public:
  // `device_value` is any input on the kernel's device: its memory info selects the allocator.
  Scratch(const Ort::KernelContext& context, const Ort::ConstValue& device_value, size_t bytes);
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch();
  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }

 private:
  Ort::Allocator allocator_{nullptr};
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

// Fails with an InputError naming `op` and `input` unless the tensor's memory is device memory of the current CUDA
// device. With GLM_OPS_CUDA_TRACE_POOLS=1 also prints the pointer, so a test can compare it with the caller's buffer.
void CheckPoolOnDevice(const char* op, const char* input, const Ort::ConstValue& value);

// GLM_OPS_CUDA_DEBUG_CHECKS=1: extra checks that synchronise the stream (e.g. expert ids copied to the host).
bool DebugChecksEnabled();

}  // namespace glm_ops::ort::cuda_ep
