// Rope tables for the attention-side ops' tests (common/rope_tables.h): random angles per token, and the inverse
// rotation that turns a test's rotated truth back into the unrotated input the op must rotate itself.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "common/rope_tables.h"

namespace glm_ops::test {

struct RopeCase {
  int64_t rotary_dim = 0;
  std::vector<float> cos, sin;  // [tokens, rotary_dim / 2]

  RopeTables Tables() const { return {cos.data(), sin.data()}; }
  RopeTablesInputs Inputs(int64_t tokens) const {
    const TensorDesc desc{DType::kFloat32, {tokens, rotary_dim / 2}};
    return {true, true, desc, desc};
  }
};

inline RopeCase RandomRope(std::mt19937& rng, int64_t tokens, int64_t rotary_dim) {
  RopeCase r{rotary_dim, {}, {}};
  std::uniform_real_distribution<double> angle(-40.0, 40.0);
  for (int64_t i = 0; i < tokens * (rotary_dim / 2); ++i) {
    const double a = angle(rng);
    r.cos.push_back(static_cast<float>(std::cos(a)));
    r.sin.push_back(static_cast<float>(std::sin(a)));
  }
  return r;
}

// x [tokens, heads, dim] with the first rotary_dim dims of each head turned by minus their token's angles (in
// double): the input whose rotation is x.
inline std::vector<float> Unrotated(std::vector<float> x, int64_t tokens, int64_t heads, int64_t dim,
                                    const RopeCase& r) {
  const int64_t pairs = r.rotary_dim / 2;
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < pairs; ++i) {
        float* v = &x[(t * heads + h) * dim + 2 * i];
        const double c = r.cos[t * pairs + i], s = r.sin[t * pairs + i], a = v[0], b = v[1];
        v[0] = static_cast<float>(a * c + b * s);
        v[1] = static_cast<float>(b * c - a * s);
      }
  return x;
}

// With `rope` (nothing without): the op's inputs describe its tables, and q [tokens, heads, dim] / k [tokens, dim],
// the test's rotated truth, are turned back so that the op must rotate them. Returns the tables the op is given.
inline RopeTables UnrotateForTables(const RopeCase* rope, int64_t tokens, int64_t heads, int64_t dim,
                                    RopeTablesInputs& inputs, std::vector<float>& q, std::vector<float>& k) {
  if (!rope) return {};
  inputs = rope->Inputs(tokens);
  q = Unrotated(q, tokens, heads, dim, *rope);
  k = Unrotated(k, tokens, 1, dim, *rope);
  return rope->Tables();
}

}  // namespace glm_ops::test
