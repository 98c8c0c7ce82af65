// Timing helpers for the benchmark programs: medians over repeats, cheap deterministic fills, a read-bandwidth probe.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <vector>

#include "cpu/spawned_threads.h"

namespace glm_ops::bench {

// The kernels' loops in the benchmarks: one thread per core (or GLM_OPS_THREADS), started per loop.
inline const cpu::Parallel& Threads() {
  static const cpu::SpawnedThreads threads;
  return threads;
}

struct Timing {
  double wall = 0;  // median wall seconds per call
  double cpu = 0;   // median process CPU seconds per call (all threads): shows the cost when the machine is shared
};

inline double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Medians of `repeats` calls (after one warm-up call).
inline Timing Measure(int repeats, const std::function<void()>& call) {
  call();
  std::vector<double> walls, cpus;
  for (int i = 0; i < repeats; ++i) {
    const double cpu_start = ProcessCpuSeconds();
    const auto start = std::chrono::steady_clock::now();
    call();
    walls.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    cpus.push_back(ProcessCpuSeconds() - cpu_start);
  }
  std::sort(walls.begin(), walls.end());
  std::sort(cpus.begin(), cpus.end());
  return {walls[walls.size() / 2], cpus[cpus.size() / 2]};
}

// Medians of `repeats` rounds in which each of `variants` calls runs once, in turn (after one warm-up round): A/B
// comparisons under the same machine load.
inline std::vector<Timing> MeasureAlternating(int repeats, size_t variants, const std::function<void(size_t)>& call) {
  for (size_t v = 0; v < variants; ++v) call(v);
  std::vector<std::vector<double>> walls(variants), cpus(variants);
  for (int i = 0; i < repeats; ++i)
    for (size_t v = 0; v < variants; ++v) {
      const double cpu_start = ProcessCpuSeconds();
      const auto start = std::chrono::steady_clock::now();
      call(v);
      walls[v].push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      cpus[v].push_back(ProcessCpuSeconds() - cpu_start);
    }
  std::vector<Timing> out;
  for (size_t v = 0; v < variants; ++v) {
    std::sort(walls[v].begin(), walls[v].end());
    std::sort(cpus[v].begin(), cpus[v].end());
    out.push_back({walls[v][walls[v].size() / 2], cpus[v][cpus[v].size() / 2]});
  }
  return out;
}

inline double MedianSeconds(int repeats, const std::function<void()>& call) { return Measure(repeats, call).wall; }

// Fills with values in [-1, 1) from a 64-bit LCG, in parallel (gigabyte pools fill in well under a second).
inline void FillUniform(float* data, int64_t count, uint64_t seed) {
  Threads().For(count, [&](int64_t begin, int64_t end) {
    uint64_t state = seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(begin) * 0xD1B54A32D192ED03ull;
    for (int64_t i = begin; i < end; ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      data[i] = static_cast<float>(static_cast<int64_t>(state >> 40) - (int64_t{1} << 23)) / static_cast<float>(1 << 23);
    }
  }, 1 << 16);
}

// A rate measured both ways: per wall second (what a caller sees) and per CPU second of all threads (the cost,
// steadier when other processes share the cores).
struct Rate {
  double wall = 0;
  double cpu = 0;
};

inline Rate RateOf(double amount, const Timing& t) { return {amount / t.wall, amount / t.cpu}; }

// Plain memory read bandwidth on this machine with the benchmarks' threads: AVX2 sums over a buffer much
// larger than the caches, median of repeats, in bytes per second.
inline Rate MeasureReadBandwidth(int64_t bytes, int repeats) {
  const int64_t count = bytes / static_cast<int64_t>(sizeof(float));
  std::vector<float> buffer(static_cast<size_t>(count));
  FillUniform(buffer.data(), count, 99);
  const Timing t = Measure(repeats, [&] {
    Threads().For(count / 32, [&](int64_t begin, int64_t end) {
      __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (int64_t i = begin * 32; i < end * 32; i += 32) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(&buffer[i]));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(&buffer[i + 8]));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(&buffer[i + 16]));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(&buffer[i + 24]));
      }
      alignas(32) float lanes[8];
      _mm256_store_ps(lanes, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
      static thread_local volatile float keep;  // keeps the loads from being optimised away
      keep = lanes[0];
    }, 1 << 14);
  });
  return RateOf(static_cast<double>(count * sizeof(float)), t);
}

// Peak float32 FMA rate with the benchmarks' threads, in FLOP per second (2 per lane): 12 independent chains of
// 8-lane FMAs per thread (enough to cover the FMA latency on both FMA pipes), registers only.
inline Rate MeasureFmaPeak(int repeats) {
  constexpr int64_t kItems = 64, kSteps = 1 << 17, kChains = 12;
  const Timing t = Measure(repeats, [&] {
    Threads().For(kItems, [&](int64_t begin, int64_t end) {
      __m256 acc[kChains];
      for (int k = 0; k < kChains; ++k) acc[k] = _mm256_set1_ps(static_cast<float>(k));
      const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
      for (int64_t i = 0; i < (end - begin) * kSteps; ++i) {
        for (int k = 0; k < kChains; ++k) acc[k] = _mm256_fmadd_ps(acc[k], m, c);
        __asm__ volatile("" : "+x"(acc[0]), "+x"(acc[1]), "+x"(acc[2]), "+x"(acc[3]), "+x"(acc[4]), "+x"(acc[5]),
                         "+x"(acc[6]), "+x"(acc[7]), "+x"(acc[8]), "+x"(acc[9]), "+x"(acc[10]), "+x"(acc[11]));
      }
      alignas(32) float lanes[8];
      _mm256_store_ps(lanes, acc[0]);
      static thread_local volatile float keep;
      keep = lanes[0];
    });
  });
  return RateOf(2.0 * 8 * kChains * kSteps * kItems, t);
}

}  // namespace glm_ops::bench
