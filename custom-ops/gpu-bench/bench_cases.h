// The benchmark cases (issue #7): MoE experts at real widths, sparse MLA decode, lightning indexer decode.
#pragma once

#include "bench_report.h"

namespace glm_ops::gpu {

struct BenchOptions {
  int iterations = 20;
  bool quick = false;  // fewer, smaller cases (a smoke run)
};

double MeasureCopyGbps(int iterations);
void BenchExperts(const BenchOptions& options, BenchReport& report);
void BenchSparseMla(const BenchOptions& options, BenchReport& report);
void BenchIndexer(const BenchOptions& options, BenchReport& report);

}  // namespace glm_ops::gpu
