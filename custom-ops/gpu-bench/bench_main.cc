// glm_ops_gpu_bench: times the CUDA kernels at GLM-5.2 sizes (CUDA events, medians) and relates their traffic to
// the device-to-device copy bandwidth measured in the same run (docs/cuda.md).
//   --quick            a smoke subset     --iterations N   timed calls per case (default 20)
//   --ops LIST         comma list of experts,mla,indexer (default all)
//   --csv PATH / --md PATH
#include <cstdio>
#include <exception>
#include <string>

#include "bench_cases.h"
#include "device_buffer.h"

namespace glm_ops::gpu {

double MeasureCopyGbps(int iterations) {
  constexpr size_t kBytes = size_t{2} << 30;
  DeviceBuffer a(kBytes), b(kBytes);
  GLM_CUDA_CHECK(cudaMemset(a.get(), 1, kBytes));
  const Timing t = TimeCalls([&] { GLM_CUDA_CHECK(cudaMemcpyAsync(b.get(), a.get(), kBytes, cudaMemcpyDeviceToDevice,
                                                                  nullptr)); },
                             iterations);
  return 2.0 * kBytes / (t.median_us * 1e-6) / 1e9;  // read + write
}

}  // namespace glm_ops::gpu

int main(int argc, char** argv) {
  using namespace glm_ops::gpu;
  BenchOptions options;
  std::string ops = "experts,mla,indexer", csv, md;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--quick") options.quick = true;
    else if (arg == "--iterations" && has_value) options.iterations = std::stoi(argv[++i]);
    else if (arg == "--ops" && has_value) ops = argv[++i];
    else if (arg == "--csv" && has_value) csv = argv[++i];
    else if (arg == "--md" && has_value) md = argv[++i];
    else {
      std::fprintf(stderr, "unknown or incomplete argument %s\n", arg.c_str());
      return 2;
    }
  }
  auto has = [&](const char* op) { return ("," + ops + ",").find("," + std::string(op) + ",") != std::string::npos; };
  try {
    cudaDeviceProp prop{};
    GLM_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
    std::printf("device: %s, %d SMs, %.1f GiB\n", prop.name, prop.multiProcessorCount,
                prop.totalGlobalMem / 1073741824.0);
    BenchReport report(MeasureCopyGbps(options.iterations));
    std::printf("device-to-device copy: %.1f GB/s\n", report.CopyGbps());
    if (has("experts")) BenchExperts(options, report);
    if (has("mla")) BenchSparseMla(options, report);
    if (has("indexer")) BenchIndexer(options, report);
    if (!csv.empty()) report.WriteCsv(csv);
    if (!md.empty()) report.WriteMarkdown(md);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "benchmark error: %s\n", e.what());
    return 1;
  }
  return 0;
}
