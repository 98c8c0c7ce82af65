#include "parity_report.h"

#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace glm_ops::gpu {

namespace {

std::string Num(double v, const char* format = "%.3g") {
  if (v < 0) return "-";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, v);
  return buffer;
}

std::ofstream Open(const std::string& path) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write " + path);
  return out;
}

}  // namespace

void ParityReport::Add(ParityRow row) {
  std::printf("%-4s %-18s %-34s %-5s T=%-6lld max_abs=%-9s tol=%-9s overlap(min/mean)=%s/%s pool=%s cpu=%sms "
              "cand=%sms %s\n",
              row.pass ? "ok" : "FAIL", row.op.c_str(), row.name.c_str(), row.dtype.c_str(),
              static_cast<long long>(row.tokens), Num(row.max_abs).c_str(), Num(row.tolerance).c_str(),
              Num(row.overlap_min, "%.4f").c_str(), Num(row.overlap_mean, "%.4f").c_str(),
              Num(row.pool_max_abs).c_str(), Num(row.cpu_ms, "%.1f").c_str(), Num(row.candidate_ms, "%.2f").c_str(),
              row.note.c_str());
  std::fflush(stdout);
  rows_.push_back(std::move(row));
}

int ParityReport::Failures() const {
  int failures = 0;
  for (const ParityRow& r : rows_) failures += r.pass ? 0 : 1;
  return failures;
}

void ParityReport::PrintTable() const {
  std::printf("parity: %zu cases, %d failed\n", rows_.size(), Failures());
}

void ParityReport::WriteCsv(const std::string& path) const {
  std::ofstream out = Open(path);
  out << "op,case,dtype,tokens,max_abs,max_rel,tolerance,overlap_min,overlap_mean,pool_max_abs,cpu_ms,candidate_ms,"
         "pass,note\n";
  for (const ParityRow& r : rows_)
    out << r.op << ',' << r.name << ',' << r.dtype << ',' << r.tokens << ',' << r.max_abs << ',' << r.max_rel << ','
        << r.tolerance << ',' << r.overlap_min << ',' << r.overlap_mean << ',' << r.pool_max_abs << ',' << r.cpu_ms
        << ',' << r.candidate_ms << ',' << (r.pass ? "pass" : "FAIL") << ',' << r.note << '\n';
}

void ParityReport::WriteMarkdown(const std::string& path, const std::string& title) const {
  std::ofstream out = Open(path);
  out << "# " << title << "\n\n" << rows_.size() << " cases, " << Failures() << " failed.\n\n";
  out << "| op | case | dtype | T | max abs | max rel | tolerance | overlap min / mean | pool | result |\n";
  out << "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  for (const ParityRow& r : rows_)
    out << "| " << r.op << " | " << r.name << " | " << r.dtype << " | " << r.tokens << " | " << Num(r.max_abs)
        << " | " << Num(r.max_rel) << " | " << Num(r.tolerance) << " | " << Num(r.overlap_min, "%.4f") << " / "
        << Num(r.overlap_mean, "%.4f") << " | " << Num(r.pool_max_abs) << " | " << (r.pass ? "pass" : "**FAIL**")
        << (r.note.empty() ? "" : " " + r.note) << " |\n";
}

}  // namespace glm_ops::gpu
