// Shape, type and attribute rules of DenseProjection (docs/onnx-contract.md), shared by the CPU and CUDA kernels.
// The weight formats are MoeExperts' (ExpertWeightFormat), one [out, in] matrix instead of a stack of experts.
#pragma once

#include <cstdint>
#include <string>

#include "common/moe_experts_validation.h"
#include "common/tensor_desc.h"

namespace glm_ops {

struct DenseProjectionAttributes {
  int64_t quant_block_size = 128;
  std::string weight_format;  // "" : the weight's element type decides the format
};

struct DenseProjectionInputs {
  TensorDesc input;   // float [T, in]
  TensorDesc weight;  // [out, in]
  bool has_scales = false;
  TensorDesc scales;  // FP8: float [ceil(out/qb), ceil(in/qb)]
};

struct DenseProjectionShape {
  int64_t tokens = 0;
  int64_t in = 0;   // K: columns of the weight, width of each input row
  int64_t out = 0;  // N: rows of the weight, width of each output row
  int64_t quant_block_size = 128;
  ExpertWeightFormat format = ExpertWeightFormat::kFloat32;

  int64_t ScaleRows() const { return (out + quant_block_size - 1) / quant_block_size; }
  int64_t ScaleCols() const { return (in + quant_block_size - 1) / quant_block_size; }
};

// The weight in its stored element type (uint8 e4m3 bits for FP8) and, for FP8 only, its block scales; host memory
// for the CPU kernel, device memory for the CUDA kernel.
struct DenseWeight {
  const void* data = nullptr;
  const float* scales = nullptr;
};

void ValidateDenseProjectionAttributes(const DenseProjectionAttributes& attributes);

DenseProjectionShape ValidateDenseProjection(const DenseProjectionInputs& inputs,
                                             const DenseProjectionAttributes& attributes);

}  // namespace glm_ops
