#include <stdexcept>
#include <string>

#include "cuda/cuda_check.h"
#include "cuda/device_common.cuh"
#include "cuda/moe_routing_cuda.h"

namespace glm_ops::cuda {

namespace {

constexpr int kWarpsPerBlock = 4;
constexpr int kMaxExperts = 4096;

struct RoutingParams {
  int tokens, experts, top_k, n_group, topk_group, norm;
  float scaling;
};

// Warp-wide argmax with the contract's tie rule: larger value, then smaller index.
__device__ __forceinline__ void WarpArgMax(float& value, int& index) {
  for (int o = 16; o > 0; o >>= 1) {
    const float v = __shfl_xor_sync(0xFFFFFFFFu, value, o);
    const int i = __shfl_xor_sync(0xFFFFFFFFu, index, o);
    if (v > value || (v == value && i < index)) {
      value = v;
      index = i;
    }
  }
}

template <typename T>
__global__ void __launch_bounds__(kWarpsPerBlock * 32) RoutingKernel(RoutingParams p, const T* logits,
                                                                      const float* bias, int32_t* ids,
                                                                      float* weights) {
  extern __shared__ float smem[];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int token = blockIdx.x * kWarpsPerBlock + warp;
  if (token >= p.tokens) return;  // whole warp leaves together
  float* sig = smem + warp * 3 * p.experts;
  float* choice = sig + p.experts;       // biased scores; -inf once chosen or outside the kept groups
  float* group_score = choice + p.experts;  // n_group <= experts
  const int E = p.experts;
  for (int e = lane; e < E; e += 32) {
    const float s = 1.0f / (1.0f + expf(-ToFloat(logits[int64_t{token} * E + e])));
    sig[e] = s;
    choice[e] = s + bias[e];
  }
  __syncwarp();
  if (p.topk_group < p.n_group) {
    const int group_size = E / p.n_group;
    for (int g = lane; g < p.n_group; g += 32) {
      float best = -INFINITY, second = -INFINITY;
      for (int e = g * group_size; e < (g + 1) * group_size; ++e) {
        const float v = choice[e];
        if (v > best) {
          second = best;
          best = v;
        } else if (v > second) {
          second = v;
        }
      }
      group_score[g] = group_size > 1 ? best + second : best;
    }
    __syncwarp();
    // Keep the topk_group best groups: mark them by setting their score to +inf.
    for (int round = 0; round < p.topk_group; ++round) {
      float value = -INFINITY;
      int index = 0x7FFFFFFF;
      for (int g = lane; g < p.n_group; g += 32)
        if (group_score[g] != INFINITY && (group_score[g] > value || index == 0x7FFFFFFF)) {
          value = group_score[g];
          index = g;
        }
      WarpArgMax(value, index);
      if (lane == 0) group_score[index] = INFINITY;
      __syncwarp();
    }
    for (int e = lane; e < E; e += 32)
      if (group_score[e / group_size] != INFINITY) choice[e] = -INFINITY;
    __syncwarp();
  }
  float picked = 0.0f, sum = 0.0f;
  for (int k = 0; k < p.top_k; ++k) {
    float value = -INFINITY;
    int index = 0x7FFFFFFF;
    for (int e = lane; e < E; e += 32)
      if (choice[e] > value || (choice[e] == value && e < index)) {
        value = choice[e];
        index = e;
      }
    WarpArgMax(value, index);
    const float w = sig[index];
    if (lane == k) picked = w;  // lane k keeps the k-th weight (top_k <= 32 here)
    if (lane == 0) ids[int64_t{token} * p.top_k + k] = index;
    sum += w;
    __syncwarp();
    if (lane == 0) choice[index] = -INFINITY;
    __syncwarp();
  }
  const float factor = p.norm ? p.scaling / (sum + 1e-20f) : p.scaling;
  if (lane < p.top_k) weights[int64_t{token} * p.top_k + lane] = picked * factor;
}

}  // namespace

void MoeRouting(const MoeRoutingShape& shape, Activation type, const void* router_logits,
                const float* correction_bias, int32_t* expert_ids, float* expert_weights, cudaStream_t stream) {
  if (shape.tokens == 0) return;
  const MoeRoutingAttributes& a = shape.attributes;
  if (shape.experts > kMaxExperts || a.top_k > 32)
    throw std::invalid_argument("MoeRouting (CUDA): " + std::to_string(shape.experts) + " experts, top_k " +
                                std::to_string(a.top_k) + ": expected at most " + std::to_string(kMaxExperts) +
                                " experts and top_k <= 32");
  const RoutingParams p{static_cast<int>(shape.tokens), static_cast<int>(shape.experts), static_cast<int>(a.top_k),
                        static_cast<int>(a.n_group),     static_cast<int>(a.topk_group), a.norm_topk_prob ? 1 : 0,
                        a.routed_scaling_factor};
  const size_t smem = sizeof(float) * 3 * kWarpsPerBlock * static_cast<size_t>(shape.experts);
  const unsigned blocks = static_cast<unsigned>(CeilDiv(shape.tokens, kWarpsPerBlock));
  if (type == Activation::kFloat32) {
    GLM_CUDA_CHECK(cudaFuncSetAttribute(RoutingKernel<float>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(smem)));
    RoutingKernel<float><<<blocks, kWarpsPerBlock * 32, smem, stream>>>(
        p, static_cast<const float*>(router_logits), correction_bias, expert_ids, expert_weights);
  } else {
    GLM_CUDA_CHECK(cudaFuncSetAttribute(RoutingKernel<__nv_bfloat16>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(smem)));
    RoutingKernel<__nv_bfloat16><<<blocks, kWarpsPerBlock * 32, smem, stream>>>(
        p, static_cast<const __nv_bfloat16*>(router_logits), correction_bias, expert_ids, expert_weights);
  }
  GLM_CUDA_CHECK_LAUNCH();
}

}  // namespace glm_ops::cuda
