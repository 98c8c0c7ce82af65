#include "cpu/spawned_threads.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

namespace glm_ops::cpu {

namespace {

int DefaultThreads() {
  if (const char* text = std::getenv("GLM_OPS_THREADS")) {
    const int value = std::atoi(text);
    if (value > 0) return value;
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace

SpawnedThreads::SpawnedThreads(int threads) : threads_(threads > 0 ? threads : DefaultThreads()) {}

void SpawnedThreads::For(int64_t count, const Range& fn, int64_t min_grain) const {
  if (count <= 0) return;
  const int64_t piece = PieceSize(count, threads_, min_grain);
  const int64_t pieces = (count + piece - 1) / piece;
  if (threads_ == 1 || pieces == 1) {
    fn(0, count);
    return;
  }
  std::atomic<int64_t> next{0};
  auto drain = [&] {
    for (;;) {
      const int64_t begin = next.fetch_add(piece, std::memory_order_relaxed);
      if (begin >= count) return;
      fn(begin, std::min(count, begin + piece));
    }
  };
  std::vector<std::thread> helpers;
  const int64_t extra = std::min<int64_t>(threads_ - 1, pieces - 1);
  for (int64_t i = 0; i < extra; ++i) helpers.emplace_back(drain);
  drain();
  for (std::thread& t : helpers) t.join();
}

}  // namespace glm_ops::cpu
