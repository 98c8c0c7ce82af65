// Shape, type and attribute rules of MoeExperts (docs/onnx-contract.md), shared by the CPU and CUDA kernels.
#pragma once

#include <cstdint>

#include "common/tensor_desc.h"

namespace glm_ops {

enum class ExpertWeightFormat {
  kFloat32,
  kBFloat16,
  kFloat8E4M3,  // float8e4m3fn, or uint8 holding the same bits; one float32 scale per quant block
};

struct MoeExpertsAttributes {
  int64_t quant_block_size = 128;
};

struct MoeExpertsInputs {
  TensorDesc hidden;          // float [T, hidden]
  TensorDesc expert_ids;      // int32 [T, top_k]
  TensorDesc expert_weights;  // float [T, top_k]
  TensorDesc gate_weights;    // [E, inter, hidden]
  TensorDesc up_weights;      // [E, inter, hidden]
  TensorDesc down_weights;    // [E, hidden, inter]
  bool has_gate_scales = false, has_up_scales = false, has_down_scales = false;
  TensorDesc gate_scales, up_scales, down_scales;  // float [E, ceil(out/qb), ceil(in/qb)]
};

// Raw stacked expert weights in the element type `format` names (uint8 e4m3 bits for FP8), in host memory for the
// CPU kernel and device memory for the CUDA kernel. Scales are null unless the format is FP8.
struct ExpertWeights {
  const void* gate = nullptr;  // [E, inter, hidden]
  const void* up = nullptr;    // [E, inter, hidden]
  const void* down = nullptr;  // [E, hidden, inter]
  const float* gate_scales = nullptr;
  const float* up_scales = nullptr;
  const float* down_scales = nullptr;
};

struct MoeExpertsShape {
  int64_t tokens = 0;
  int64_t hidden = 0;
  int64_t top_k = 0;
  int64_t experts = 0;
  int64_t inter = 0;
  int64_t quant_block_size = 128;
  ExpertWeightFormat format = ExpertWeightFormat::kFloat32;
};

void ValidateMoeExpertsAttributes(const MoeExpertsAttributes& attributes);

MoeExpertsShape ValidateMoeExperts(const MoeExpertsInputs& inputs, const MoeExpertsAttributes& attributes);

// Checks the contents of expert_ids (host memory): every id in [0, experts).
void CheckExpertIds(const MoeExpertsShape& shape, const int32_t* expert_ids);

}  // namespace glm_ops
