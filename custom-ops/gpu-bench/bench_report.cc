#include "bench_report.h"

#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace glm_ops::gpu {

void BenchReport::Add(const std::string& op, const std::string& config, const Timing& timing, double bytes,
                      const std::string& goal) {
  BenchRow row{op, config, timing, bytes, 0, 0, goal};
  row.gbps = bytes / (timing.median_us * 1e-6) / 1e9;
  row.copy_fraction = row.gbps / copy_gbps_;
  std::printf("%-18s %-36s median %10.2f us  back-to-back %10.2f us  %8.1f GB/s  %5.1f%% of copy  %s\n",
              op.c_str(), config.c_str(), timing.median_us, timing.pipelined_us, row.gbps, 100 * row.copy_fraction,
              goal.c_str());
  std::fflush(stdout);
  rows_.push_back(row);
}

void BenchReport::WriteCsv(const std::string& path) const {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write " + path);
  out << "op,config,median_us,back_to_back_us,bytes,gbps,copy_gbps,copy_fraction,goal\n";
  for (const BenchRow& r : rows_)
    out << r.op << ',' << r.config << ',' << r.timing.median_us << ',' << r.timing.pipelined_us << ',' << r.bytes
        << ',' << r.gbps << ',' << copy_gbps_ << ',' << r.copy_fraction << ',' << r.goal << '\n';
}

void BenchReport::WriteMarkdown(const std::string& path) const {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write " + path);
  char line[512];
  std::snprintf(line, sizeof line, "# GPU benchmarks\n\nDevice-to-device copy: %.1f GB/s (read + write).\n\n",
                copy_gbps_);
  out << line;
  out << "| op | config | median us | back-to-back us | GB/s | % of copy | goal |\n";
  out << "| --- | --- | --- | --- | --- | --- | --- |\n";
  for (const BenchRow& r : rows_) {
    std::snprintf(line, sizeof line, "| %s | %s | %.2f | %.2f | %.1f | %.1f%% | %s |\n", r.op.c_str(),
                  r.config.c_str(), r.timing.median_us, r.timing.pipelined_us, r.gbps, 100 * r.copy_fraction,
                  r.goal.c_str());
    out << line;
  }
}

}  // namespace glm_ops::gpu
