#include "cpu/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace glm_ops::cpu {

namespace {

int ConfiguredThreads() {
  if (const char* text = std::getenv("GLM_OPS_THREADS")) {
    const int value = std::atoi(text);
    if (value > 0) return value;
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

class Pool {
 public:
  explicit Pool(int threads) : threads_(threads) {
    for (int i = 1; i < threads_; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  }

  int Threads() const { return threads_; }

  void Run(int64_t count, const std::function<void(int64_t, int64_t)>& fn, int64_t min_grain) {
    if (count <= 0) return;
    const int64_t grain = std::max<int64_t>(std::max<int64_t>(1, min_grain), count / (4 * threads_));
    std::unique_lock<std::mutex> region(region_mutex_, std::try_to_lock);
    if (threads_ == 1 || count <= grain || !region.owns_lock()) {
      fn(0, count);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &fn;
      count_ = count;
      grain_ = grain;
      next_.store(0, std::memory_order_relaxed);
      busy_workers_ = static_cast<int>(workers_.size());
      ++generation_;
    }
    work_ready_.notify_all();
    RunChunks(fn, count, grain);
    std::unique_lock<std::mutex> lock(mutex_);
    work_done_.wait(lock, [this] { return busy_workers_ == 0; });
    job_ = nullptr;
  }

 private:
  void RunChunks(const std::function<void(int64_t, int64_t)>& fn, int64_t count, int64_t grain) {
    for (;;) {
      const int64_t begin = next_.fetch_add(grain, std::memory_order_relaxed);
      if (begin >= count) return;
      fn(begin, std::min(count, begin + grain));
    }
  }

  void WorkerLoop() {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int64_t, int64_t)>* job;
      int64_t count, grain;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        work_ready_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        job = job_;
        count = count_;
        grain = grain_;
      }
      RunChunks(*job, count, grain);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        --busy_workers_;
      }
      work_done_.notify_one();
    }
  }

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex region_mutex_;  // one parallel region at a time; others run inline
  std::mutex mutex_;
  std::condition_variable work_ready_, work_done_;
  uint64_t generation_ = 0;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t count_ = 0, grain_ = 1;
  std::atomic<int64_t> next_{0};
  int busy_workers_ = 0;
};

Pool& Instance() {
  // Never destroyed: workers block in WorkerLoop until the process exits, so no join can hang at unload.
  static Pool* pool = new Pool(ConfiguredThreads());
  return *pool;
}

}  // namespace

int ThreadCount() { return Instance().Threads(); }

void ParallelFor(int64_t count, const std::function<void(int64_t, int64_t)>& fn, int64_t min_grain) {
  Instance().Run(count, fn, min_grain);
}

namespace {

class OwnPoolParallel final : public Parallel {
 public:
  int Threads() const override { return ThreadCount(); }
  void For(int64_t count, const Range& fn, int64_t min_grain) const override { ParallelFor(count, fn, min_grain); }
};

}  // namespace

const Parallel& OwnPool() {
  static const OwnPoolParallel instance;
  return instance;
}

}  // namespace glm_ops::cpu
