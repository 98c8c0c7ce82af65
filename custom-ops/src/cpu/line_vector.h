// Buffers whose data start on a 64-byte cache line: a 512-bit load at a multiple of 64 bytes from the start then
// reads one line, not two. Misaligned (16 bytes past a line, where glibc places large blocks), the MoE bf16 kernel's
// activation loads each split over two lines: its step ran 42 GMAC/s against 68 aligned (docs/benchmarks.md,
// "MoeExperts bf16: line-aligned activations, decode-once token blocks").
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace glm_ops::cpu {

constexpr std::size_t kCacheLine = 64;

template <typename T>
struct LineAllocator {
  using value_type = T;
  LineAllocator() = default;
  template <typename U>
  LineAllocator(const LineAllocator<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{kCacheLine})); }
  void deallocate(T* p, std::size_t n) { ::operator delete(p, n * sizeof(T), std::align_val_t{kCacheLine}); }
  template <typename U>
  bool operator==(const LineAllocator<U>&) const { return true; }
};

template <typename T>
using LineVector = std::vector<T, LineAllocator<T>>;

}  // namespace glm_ops::cpu
