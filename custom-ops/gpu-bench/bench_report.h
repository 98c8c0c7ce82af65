// Benchmark results: time per call and achieved bytes per second against the device-to-device copy bandwidth
// measured by the same run; printed, and written as CSV and markdown.
#pragma once

#include <string>
#include <vector>

#include "bench_timer.h"

namespace glm_ops::gpu {

struct BenchRow {
  std::string op, config;
  Timing timing;
  double bytes = 0;          // bytes the op must move at least (weights / cache rows read, outputs written)
  double gbps = 0;           // bytes / median time
  double copy_fraction = 0;  // gbps / copy bandwidth
  std::string goal;          // the design goal this row is checked against, if any
};

class BenchReport {
 public:
  explicit BenchReport(double copy_gbps) : copy_gbps_(copy_gbps) {}
  void Add(const std::string& op, const std::string& config, const Timing& timing, double bytes,
           const std::string& goal = "");
  void WriteCsv(const std::string& path) const;
  void WriteMarkdown(const std::string& path) const;
  double CopyGbps() const { return copy_gbps_; }

 private:
  double copy_gbps_;
  std::vector<BenchRow> rows_;
};

}  // namespace glm_ops::gpu
