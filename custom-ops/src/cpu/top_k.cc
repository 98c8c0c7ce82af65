#include "cpu/top_k.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>

namespace glm_ops::cpu {

namespace {

// Maps a float to an unsigned key with the same order (negatives reversed, sign bit flipped); -0 counts as +0.
inline uint32_t OrderKey(float value) {
  value += 0.0f;  // -0 + +0 = +0: equal scores, equal keys
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

}  // namespace

void SelectTopK(const float* scores, int64_t count, int64_t k, int32_t* out, std::vector<uint64_t>& scratch) {
  // Radix select on the top 12 bits of the order key: one histogram pass finds the bucket holding the k-th largest
  // score; only the candidates in or above it (k plus that bucket's size) are ranked. Each candidate is one 64-bit
  // key, the score's order key above the complement of its index, so a descending sort of plain integers gives
  // descending score, then lower index first: no indirection through the scores while sorting.
  constexpr int kBits = 12;
  constexpr uint32_t kShift = 32 - kBits;
  std::array<uint32_t, 1u << kBits> histogram{};
  for (int64_t i = 0; i < count; ++i) ++histogram[OrderKey(scores[i]) >> kShift];
  int64_t above = 0;
  uint32_t boundary = (1u << kBits) - 1;
  for (;; --boundary) {
    if (above + histogram[boundary] >= k) break;
    above += histogram[boundary];
  }

  scratch.clear();
  for (int64_t i = 0; i < count; ++i) {
    const uint32_t key = OrderKey(scores[i]);
    if ((key >> kShift) >= boundary)
      scratch.push_back(uint64_t{key} << 32 | (0xFFFFFFFFu - static_cast<uint32_t>(i)));
  }
  if (static_cast<int64_t>(scratch.size()) > k)
    std::nth_element(scratch.begin(), scratch.begin() + (k - 1), scratch.end(), std::greater<uint64_t>());
  std::sort(scratch.begin(), scratch.begin() + k, std::greater<uint64_t>());
  for (int64_t i = 0; i < k; ++i) out[i] = static_cast<int32_t>(0xFFFFFFFFu - static_cast<uint32_t>(scratch[i]));
}

}  // namespace glm_ops::cpu
