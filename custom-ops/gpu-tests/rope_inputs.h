// Rope tables for the parity cases of the attention ops (common/rope_tables.h): an independent random angle per
// token and pair, so a kernel that reads the wrong row or column of the tables, or rotates the wrong dims, cannot
// agree with the CPU kernel by accident.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "common/rope_tables.h"
#include "cpu/rope.h"
#include "host_types.h"
#include "parity_options.h"

namespace glm_ops::gpu {

struct RopeInputs {
  int64_t tokens = 0, half = 0;  // tables [tokens, half]; half = rotary_dim / 2
  std::vector<float> cos, sin;

  bool present() const { return half > 0; }
  RopeTablesInputs Inputs() const {
    RopeTablesInputs in;
    in.has_cos = in.has_sin = present();
    in.cos = in.sin = {DType::kFloat32, {tokens, half}};
    return in;
  }
  RopeTables Host() const { return present() ? RopeTables{cos.data(), sin.data()} : RopeTables{}; }
};

// half == 0: no tables (the op receives q and k already rotated).
inline RopeInputs RandomRopeTables(uint64_t seed, int64_t tokens, int64_t half) {
  RopeInputs r;
  if (half == 0) return r;
  r.tokens = tokens;
  r.half = half;
  const std::vector<float> angles = FastUniform(seed, static_cast<size_t>(tokens * half), -3.14159265f, 3.14159265f);
  for (float a : angles) {
    r.cos.push_back(std::cos(a));
    r.sin.push_back(std::sin(a));
  }
  return r;
}

// x [tokens, heads, dim] rotated on the host and rounded to bf16: what the CUDA op's bf16 rotated copy holds. The
// CPU op has no bf16 path to round in between, so in bf16 rope cases it gets these values and no tables.
inline std::vector<float> RotatedBf16(const std::vector<float>& x, int64_t tokens, int64_t heads, int64_t dim,
                                      int64_t rotary_dim, const RopeTables& tables) {
  std::vector<float> rotated = cpu::RotatedCopy(x.data(), tokens, heads, dim, rotary_dim, tables);
  RoundToBf16(rotated);
  return rotated;
}

// Largest pool difference a rope case may show: the written rows hold rotated values, whose last bit depends on
// FMA contraction (the CPU kernel is built with -ffp-contract=fast, the CUDA kernel fixes one order, the dry run's
// scalar reference rotates in double), so two units in the last place of the pool's type at its largest magnitude.
// Without rope, pool writes are copies and must match exactly.
inline double RopePoolTolerance(bool bf16, double pool_max) {
  return std::ldexp(pool_max, bf16 ? -7 : -22);
}

}  // namespace glm_ops::gpu
