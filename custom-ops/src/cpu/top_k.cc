#include "cpu/top_k.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace glm_ops::cpu {

namespace {

// Maps a float to an unsigned key with the same order (negatives reversed, sign bit flipped).
inline uint32_t OrderKey(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

}  // namespace

void SelectTopK(const float* scores, int64_t count, int64_t k, int32_t* out, std::vector<uint32_t>& scratch) {
  // Radix select on the top 12 bits of the order key: one histogram pass finds the bucket holding the k-th largest
  // score; everything above it is selected, and only that bucket is sorted. Far cheaper than sorting the whole
  // context (up to 1M scores) when k is a few thousand.
  constexpr int kBits = 12;
  constexpr uint32_t kShift = 32 - kBits;
  std::array<int64_t, 1u << kBits> histogram{};
  for (int64_t i = 0; i < count; ++i) ++histogram[OrderKey(scores[i]) >> kShift];
  int64_t above = 0;
  uint32_t boundary = (1u << kBits) - 1;
  for (;; --boundary) {
    if (above + histogram[boundary] >= k) break;
    above += histogram[boundary];
  }

  scratch.clear();
  int64_t taken = 0;
  for (int64_t i = 0; i < count; ++i) {
    const uint32_t bucket = OrderKey(scores[i]) >> kShift;
    if (bucket > boundary)
      out[taken++] = static_cast<int32_t>(i);
    else if (bucket == boundary)
      scratch.push_back(static_cast<uint32_t>(i));
  }
  auto better = [scores](int64_t a, int64_t b) { return scores[a] > scores[b] || (scores[a] == scores[b] && a < b); };
  const int64_t needed = k - taken;
  std::partial_sort(scratch.begin(), scratch.begin() + needed, scratch.end(), better);
  for (int64_t i = 0; i < needed; ++i) out[taken++] = static_cast<int32_t>(scratch[i]);
  std::sort(out, out + k, better);
}

}  // namespace glm_ops::cpu
