// Shape, type and attribute rules of MoeRouting (docs/onnx-contract.md), shared by the CPU and CUDA kernels.
#pragma once

#include <cstdint>

#include "common/tensor_desc.h"

namespace glm_ops {

struct MoeRoutingAttributes {
  int64_t top_k = 0;
  int64_t n_group = 1;
  int64_t topk_group = 1;
  bool norm_topk_prob = true;
  float routed_scaling_factor = 1.0f;
};

struct MoeRoutingShape {
  int64_t tokens = 0;
  int64_t experts = 0;
  MoeRoutingAttributes attributes;
};

// Checks what can be checked without inputs (at kernel creation).
void ValidateMoeRoutingAttributes(const MoeRoutingAttributes& attributes);

// Inputs: router_logits float [T, n_experts], correction_bias float [n_experts].
MoeRoutingShape ValidateMoeRouting(const TensorDesc& router_logits, const TensorDesc& correction_bias,
                                   const MoeRoutingAttributes& attributes);

}  // namespace glm_ops
