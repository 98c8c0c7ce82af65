// A Parallel whose worker threads live as long as the program, as ONNX Runtime's intra-op pool does in a session:
// an op benchmark over a small layer (a few MB of weights, tens of microseconds) measures the kernel and one
// dispatch, not the start of a thread per loop (cpu/spawned_threads.h). Workers spin briefly on a generation counter
// (ORT's pool spins too) and then sleep on a condition variable, so an idle benchmark does not hold a core.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "cpu/parallel.h"

namespace glm_ops::bench {

class PooledThreads final : public cpu::Parallel {
 public:
  explicit PooledThreads(int threads) : threads_(std::max(1, threads)) {
    for (int i = 1; i < threads_; ++i) workers_.emplace_back([this] { Work(); });
  }
  ~PooledThreads() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
  }
  int Threads() const override { return threads_; }

  void For(int64_t count, const Range& fn, int64_t min_grain = 1) const override {
    if (count <= 0) return;
    const int64_t piece = cpu::PieceSize(count, threads_, min_grain);
    if (threads_ == 1 || piece >= count) {
      fn(0, count);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = {&fn, count, piece};
      next_.store(0);
      busy_.store(threads_ - 1);
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    Drain();
    while (busy_.load() != 0) _mm_pause();
  }

 private:
  struct Job {
    const Range* fn = nullptr;
    int64_t count = 0, piece = 1;
  };

  void Drain() const {
    for (;;) {
      const int64_t begin = next_.fetch_add(job_.piece);
      if (begin >= job_.count) return;
      (*job_.fn)(begin, std::min(job_.count, begin + job_.piece));
    }
  }

  void Work() {
    uint64_t seen = 0;
    for (;;) {
      // Spin ~100 us for the next loop (back-to-back kernel calls), then sleep.
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(100);
      while (generation_.load() == seen && std::chrono::steady_clock::now() < until) _mm_pause();
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_.load() != seen; });
        seen = generation_.load();
        if (stop_) return;
      }
      Drain();
      busy_.fetch_sub(1);
    }
  }

  int threads_;
  std::vector<std::thread> workers_;
  mutable std::mutex mutex_;
  mutable std::condition_variable wake_;
  mutable std::atomic<uint64_t> generation_{0};
  mutable std::atomic<int64_t> next_{0};
  mutable std::atomic<int> busy_{0};
  mutable Job job_;
  bool stop_ = false;
};

}  // namespace glm_ops::bench
