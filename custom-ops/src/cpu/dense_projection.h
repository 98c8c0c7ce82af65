// CPU kernel of DenseProjection: output[T, out] = input[T, in] . W^T with W read at its stored width (float32, bf16,
// block-FP8, int8 or int4), never expanded in memory. bf16 weights take DenseProjection's own kernels
// (cpu/dense_projection_kernels.h): on AVX512_BF16 the vdpbf16ps kernels up to 8 tokens (activations split into two
// bf16 terms, near-exact; above 4 tokens cache-blocked so each weight is read from memory once per call) and the
// blocked GEMM from 9 (kDenseBf16GemmMinTokens),
// else the float32 kernel at up to 8 tokens; above 4 tokens on CPUs with AMX-BF16 the same split activations on AMX
// tiles (cpu/dense_projection_amx.h). float32 weights at up to 4 tokens, and block-FP8 ones on AVX-512, take its own
// decode kernels too (gemv_f32, gemv_fp8). Other calls below 64 tokens (decode,
// short prompts, speculative verification) stream the weights through MoeExperts' row projection
// (cpu/expert_projection.h). Both split the output rows across the pool, except calls of at most 64 KiB of weights,
// which run on the calling thread. From 64 tokens the blocked GEMM reuses each decoded weight for every token
// (cpu/dense_projection_gemm.h: row tiles below 128 tokens, packed panels from 128).
// int8/int4 weights with the converter's groups take DenseProjection's own integer kernels at every token count
// (cpu/dense_projection_int.h: activations quantized to int8 per 32 columns, byte dot products); other int groups at
// up to 8 tokens the row projection's integer path (as MoeExperts); every other case multiplies exactly in float32.
#pragma once

#include <cstdint>

#include "common/dense_projection_validation.h"
#include "cpu/parallel.h"

namespace glm_ops::cpu {

// Tokens from which the blocked GEMM runs (for bf16 on AVX512_BF16: kDenseBf16GemmMinTokens); below, the row
// projection (all tokens in one pass up to 32, else in equal chunks of at most 32). Measured with the packed panels,
// one thread, 6144 -> 2048 bf16 (ms per call, GEMM / rows): 12 tokens 10.3 / 9.2, 33 tokens 19.4 / 16.5, 64 tokens
// 30.0 / 30.9, 128 tokens 50.4 / 54.3, 512 tokens 182 / 283. The row tiles did not move it: float32 and FP8 on
// GLM-5.2 shapes, 2 threads, 12 and 32 tokens, within 10 % of the row projection either way.
constexpr int64_t kDenseGemmMinTokens = 64;

// Tokens up to which bf16 weights take DenseProjection's float32 decode kernel (cpu/dense_projection_kernels.h: each
// weight read once from memory, decoded by shifts in registers, blocks of 4 tokens) where AVX512_BF16 is absent;
// above, the row projection's decoded tile (below kDenseGemmMinTokens) or the GEMM.
constexpr int64_t kDenseBf16GemvMaxTokens = 8;

// Tokens up to which bf16 weights take that float32 decode kernel on AVX512_BF16 too (above: the vdpbf16ps kernels).
// One token streams its weights at the memory's pace, and two vdpbf16ps per 32 weights held it back where the
// instruction retires at a quarter of a 512-bit FMA's rate (an Intel Xeon without AMX, docs/benchmarks.md "One token
// of bf16 without vdpbf16ps": GLM-5.2 shapes, 2 threads, cold weights, q_b 2.3-2.7 -> 2.2-2.3 ms, lm_head ~72-78 ->
// ~70); on the Zen 4 host both ran alike at one token, and the dot kernels win from 2-4 tokens there.
constexpr int64_t kDenseBf16DecodeKernelMaxTokens = 1;

// Tokens from which bf16 weights on AVX512_BF16 without AMX take the blocked GEMM instead of the vdpbf16ps kernels:
// the GEMM's row tiles decode each weight once per call to float32 and broadcast it against vectors of 16 tokens,
// where the split-activation dot product spends two vdpbf16ps per 32 products per token, at half an FMA's rate on the
// Intel Xeons measured. GLM-5.2 shapes, 2 threads, GFLOP/s row tiles / dot kernels (docs/benchmarks.md, "bf16
// prefill without AMX"): 5 tokens 28-48 / 56-63, 8 tokens 46-80 / 62-68, 9 tokens 50-89 / 62-71 (kv_a 6144 -> 576
// alone slower), 12 tokens 69-116 / 68-79, 16 tokens 93-159 / 70-77.
constexpr int64_t kDenseBf16GemmMinTokens = 9;

// Whether DenseProjection runs this bf16 call (groups 1) on the blocked GEMM's float32 kernels: where AMX-BF16 is not
// in use, from kDenseBf16GemmMinTokens on AVX512_BF16 (below, its vdpbf16ps kernels), else from kDenseGemmMinTokens.
// MoeExperts runs its bf16 experts with that many tokens as whole DenseProjection calls (cpu/moe_whole_calls.h).
bool DenseBf16GemmTakes(const DenseProjectionShape& shape);

// Whether a call is small enough (weight bytes x tokens <= 64 KiB) to run on the calling thread alone: waking a
// pool thread and handing it pieces costs more than the work it would take over.
bool DenseRunsOnCaller(const DenseProjectionShape& shape);

// Expects a validated shape; output is [tokens, out]. groups > 1 runs DenseProjectionGrouped.
void DenseProjection(const Parallel& parallel, const DenseProjectionShape& shape, const float* input,
                     const DenseWeight& weight, float* output);

// The row-projection path alone, for any token count (above 32 in equal chunks of at most 32 tokens, each chunk
// streaming the weights once). DenseProjection takes it below kDenseGemmMinTokens, and above for weight formats the
// GEMM's panel packer does not decode; the tests call it directly so that both paths are checked at every count.
void DenseProjectionByRows(const Parallel& parallel, const DenseProjectionShape& shape, const float* input,
                           const DenseWeight& weight, float* output);

// groups > 1 (MLA's per-head W_UK / W_UV). Below kDenseGemmMinTokens: the row projection over all groups' rows in
// one pass of the pool, each work item inside one group and reading that group's input columns. From
// kDenseGemmMinTokens: the groups are split across the pool and each runs the one-matrix path above on one thread,
// over its own out / groups weight rows and its `in` input columns gathered into a contiguous [tokens, in] block.
void DenseProjectionGrouped(const Parallel& parallel, const DenseProjectionShape& shape, const float* input,
                            const DenseWeight& weight, float* output);

}  // namespace glm_ops::cpu
