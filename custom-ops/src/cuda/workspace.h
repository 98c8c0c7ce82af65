// Scratch memory for one kernel call, carved from a single device buffer the caller owns (ONNX Runtime's allocator in
// the wrappers, one cudaMalloc in the harnesses): the kernels never allocate. The same carving code runs once without
// a buffer to size it, so the size and the layout cannot drift apart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace glm_ops::cuda {

class Workspace {
 public:
  // Sizing mode: Take() returns null pointers and only counts bytes.
  Workspace() = default;
  Workspace(void* base, size_t bytes) : base_(static_cast<char*>(base)), capacity_(bytes), sizing_(false) {}

  template <typename T>
  T* Take(size_t count) {
    used_ = (used_ + kAlign - 1) / kAlign * kAlign;
    const size_t offset = used_;
    used_ += count * sizeof(T);
    if (sizing_) return nullptr;
    if (used_ > capacity_)
      throw std::runtime_error("glm_onnx_ops CUDA: workspace too small: need at least " + std::to_string(used_) +
                               " bytes, got " + std::to_string(capacity_));
    return reinterpret_cast<T*>(base_ + offset);
  }

  size_t Used() const { return used_; }

 private:
  static constexpr size_t kAlign = 256;
  char* base_ = nullptr;
  size_t capacity_ = 0;
  size_t used_ = 0;
  bool sizing_ = true;
};

}  // namespace glm_ops::cuda
