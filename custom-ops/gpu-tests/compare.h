// Comparison metrics of the parity harness: max abs / relative error of float outputs and the overlap of top-k
// selections (rows compared as sets, -1 padding ignored).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

namespace glm_ops::gpu {

struct FloatError {
  double max_abs = 0.0;
  double max_rel = 0.0;     // |a - b| / max(|b|, 1e-3 * max|b|)
  double ref_max = 0.0;     // max |reference|
  int64_t non_finite = 0;   // values finite in the reference but not in the candidate
};

inline FloatError CompareFloats(const std::vector<float>& candidate, const std::vector<float>& reference) {
  FloatError e;
  for (float r : reference) e.ref_max = std::max(e.ref_max, static_cast<double>(std::fabs(r)));
  const double floor = std::max(1e-3 * e.ref_max, 1e-30);
  const size_t n = std::min(candidate.size(), reference.size());
  for (size_t i = 0; i < n; ++i) {
    if (std::isfinite(reference[i]) && !std::isfinite(candidate[i])) {
      ++e.non_finite;
      continue;
    }
    const double d = std::fabs(static_cast<double>(candidate[i]) - reference[i]);
    e.max_abs = std::max(e.max_abs, d);
    e.max_rel = std::max(e.max_rel, d / std::max(static_cast<double>(std::fabs(reference[i])), floor));
  }
  if (candidate.size() != reference.size()) e.non_finite += static_cast<int64_t>(
      std::max(candidate.size(), reference.size()) - n);
  return e;
}

struct Overlap {
  double min = 1.0, mean = 1.0;  // |candidate row ∩ reference row| / |reference row|
  double exact_rows = 1.0;       // fraction of rows identical in order
  int64_t size_mismatch = 0;     // rows whose number of valid entries differ
};

inline Overlap CompareSelections(const std::vector<int32_t>& candidate, const std::vector<int32_t>& reference,
                                 int64_t rows, int64_t k) {
  Overlap o;
  if (rows == 0) return o;
  double sum = 0.0;
  int64_t exact = 0;
  for (int64_t r = 0; r < rows; ++r) {
    std::set<int32_t> ref, cand;
    bool same = true;
    for (int64_t j = 0; j < k; ++j) {
      const int32_t a = candidate[r * k + j], b = reference[r * k + j];
      if (b >= 0) ref.insert(b);
      if (a >= 0) cand.insert(a);
      same = same && a == b;
    }
    exact += same ? 1 : 0;
    if (ref.size() != cand.size()) ++o.size_mismatch;
    int64_t common = 0;
    for (int32_t v : cand) common += ref.count(v);
    const double frac = ref.empty() ? (cand.empty() ? 1.0 : 0.0) : static_cast<double>(common) / ref.size();
    o.min = std::min(o.min, frac);
    sum += frac;
  }
  o.mean = sum / rows;
  o.exact_rows = static_cast<double>(exact) / rows;
  return o;
}

}  // namespace glm_ops::gpu
