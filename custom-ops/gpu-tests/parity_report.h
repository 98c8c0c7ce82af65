// One line of the parity report, and the table / CSV / markdown writers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace glm_ops::gpu {

enum class Candidate {
  kCuda,   // the CUDA kernel (needs a GPU)
  kReference,  // --dry-run: the scalar references of src/reference stand in for the GPU
};

struct ParityRow {
  std::string op, name, dtype;
  int64_t tokens = 0;
  double max_abs = 0, max_rel = 0, tolerance = 0;  // float outputs: pass when max_abs <= tolerance
  double overlap_min = -1, overlap_mean = -1;      // selections (indexer, routing ids); -1 = not applicable
  double pool_max_abs = -1;                        // in-place pool rows after the call; -1 = no pool
  double cpu_ms = 0, candidate_ms = 0;
  bool pass = false;
  std::string note;
};

class ParityReport {
 public:
  void Add(ParityRow row);
  int Failures() const;
  void PrintTable() const;
  void WriteCsv(const std::string& path) const;
  void WriteMarkdown(const std::string& path, const std::string& title) const;

 private:
  std::vector<ParityRow> rows_;
};

}  // namespace glm_ops::gpu
