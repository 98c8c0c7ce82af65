// glm_ops_gpu_parity: runs every CUDA kernel and the CPU reference kernel on the same random inputs and reports
// max abs / relative error, top-k overlap and in-place pool writes (docs/cuda.md). Exit code 1 when a case fails.
//   --dry-run         no GPU: the scalar references (src/reference) stand in for the CUDA kernels (tiny shapes
//                     by default)
//   --sizes LIST      comma list of tiny,real,huge (default: all with a GPU, tiny in a dry run)
//   --ops LIST        comma list of indexer,mla,routing,experts,dense (default: all)
//   --csv PATH / --md PATH   write the results
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "parity_options.h"

namespace {

bool Has(const std::string& list, const char* item) {
  return ("," + list + ",").find("," + std::string(item) + ",") != std::string::npos;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace glm_ops::gpu;
  ParityOptions options;
  std::string sizes, ops = "indexer,mla,routing,experts,dense", csv, md;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value after %s\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--dry-run") options.candidate = Candidate::kReference;
    else if (arg == "--sizes") sizes = value();
    else if (arg == "--ops") ops = value();
    else if (arg == "--csv") csv = value();
    else if (arg == "--md") md = value();
    else {
      std::fprintf(stderr, "unknown argument %s\n", arg.c_str());
      return 2;
    }
  }
  if (sizes.empty()) sizes = options.candidate == Candidate::kReference ? "tiny" : "tiny,real,huge";
  options.tiny = Has(sizes, "tiny");
  options.real = Has(sizes, "real");
  options.huge = Has(sizes, "huge");
  std::printf("glm_ops_gpu_parity: candidate=%s sizes=%s ops=%s\n",
              options.candidate == Candidate::kCuda ? "cuda" : "reference (dry run)", sizes.c_str(), ops.c_str());
  ParityReport report;
  try {
    if (Has(ops, "routing")) RunRoutingParity(options, report);
    if (Has(ops, "indexer")) RunIndexerParity(options, report);
    if (Has(ops, "mla")) RunSparseMlaParity(options, report);
    if (Has(ops, "experts")) RunExpertsParity(options, report);
    if (Has(ops, "dense")) RunDenseParity(options, report);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "parity harness error: %s\n", e.what());
    report.PrintTable();
    if (!csv.empty()) report.WriteCsv(csv);
    if (!md.empty()) report.WriteMarkdown(md, "GPU parity (aborted)");
    return 1;
  }
  report.PrintTable();
  if (!csv.empty()) report.WriteCsv(csv);
  if (!md.empty())
    report.WriteMarkdown(md, options.candidate == Candidate::kCuda ? "GPU parity: CUDA vs CPU kernels"
                                                                    : "Dry-run parity: reference vs CPU kernels");
  return report.Failures() == 0 ? 0 : 1;
}
