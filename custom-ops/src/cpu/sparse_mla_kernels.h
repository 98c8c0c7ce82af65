// SparseMlaAttention's per-tile kernel, once per instruction set like the expert kernels
// (src/cpu/isa/sparse_mla_kernels.cc, cpu/expert_kernels.h). cpu/sparse_mla_attention.cc walks the attended
// positions of a token in tiles of the active table's tile_rows cache rows (8 on AVX2, 16 on AVX-512) and hands each
// tile to its attend_tile with a group of heads; raw pointers only (docs/onnx-contract.md, "Instruction sets").
#pragma once

#include <cstdint>

namespace glm_ops::cpu {

constexpr int kSparseMlaMaxTile = 16;  // cache rows per tile, at most (a table's tile_rows)

// Online softmax of one head: the largest scaled score so far and the sum of exp(score - max) over those scores.
struct SparseMlaHeadState {
  float max;
  float sum;
};

struct SparseMlaKernels {
  const char* isa;  // "avx2" or "avx512"
  int tile_rows;    // cache rows per tile (<= kSparseMlaMaxTile)
  // For heads h in [0, heads): s_j = scale * (q_latent[h] . c_j + q_rope[h] . r_j) over the tile's rows
  // ([c_j (rank), r_j (rope)]; rows[valid..tile_rows) repeat a valid row and take no part), then
  // new_max = max(state.max, max_j s_j), alpha = exp(state.max - new_max), p_j = exp(s_j - new_max),
  // state = {new_max, state.sum * alpha + sum_j p_j}, o[h] = o[h] * alpha + sum_j p_j * c_j.
  // q_latent [heads, rank], q_rope [heads, rope], o [heads, rank] (unnormalised), state [heads].
  void (*attend_tile)(const float* const* rows, int valid, int64_t heads, const float* q_latent, const float* q_rope,
                      int64_t rank, int64_t rope, float scale, SparseMlaHeadState* state, float* o);
};

// The two tables (defined in the two compilations of src/cpu/isa/sparse_mla_kernels.cc) and the one in use
// (cpu/isa_dispatch.h).
const SparseMlaKernels& SparseMlaKernelsAvx2();
const SparseMlaKernels& SparseMlaKernelsAvx512();
const SparseMlaKernels& ActiveSparseMlaKernels();

}  // namespace glm_ops::cpu
