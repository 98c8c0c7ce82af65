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
  std::string weight_format;  // "" (the weight's element type decides the format) or "int4"
  int64_t groups = 1;         // G: output rows [g*out/G, (g+1)*out/G) read input columns [g*in, (g+1)*in)
  std::string input_activation;  // "" (the input as it is) or "swiglu" (SiLU(gate) * up of input [T, 2 * in])
};

struct DenseProjectionInputs {
  TensorDesc input;   // float [T, groups * in] or [T, groups, in]
  TensorDesc weight;  // [out, in] (int4: uint8 [out, ceil(in/2)])
  bool has_scales = false;
  TensorDesc scales;  // FP8: float [ceil(out/qb), ceil(in/qb)]; int8/int4: float16 [out, ceil(in/qb)]
  bool has_addend = false;
  TensorDesc addend;  // float [T, out]
};

struct DenseProjectionShape {
  int64_t tokens = 0;
  int64_t in = 0;   // K: columns of the weight, width of each group's slice of an input row
  int64_t out = 0;  // N: rows of the weight (all groups), width of each output row
  int64_t groups = 1;  // G: group g maps input columns [g*in, (g+1)*in) through weight rows [g*out/G, (g+1)*out/G)
  int64_t quant_block_size = 128;
  ExpertWeightFormat format = ExpertWeightFormat::kFloat32;
  bool swiglu = false;  // input_activation "swiglu": the node's input is [T, 2 * in], projected as SiLU(gate) * up
  bool addend = false;  // an addend [T, out] joins the output

  // Rows of the scale tensor: one per FP8 block of rows, one per weight row for int8/int4.
  int64_t ScaleRows() const {
    return format == ExpertWeightFormat::kFloat8E4M3 ? (out + quant_block_size - 1) / quant_block_size : out;
  }
  int64_t ScaleCols() const { return (in + quant_block_size - 1) / quant_block_size; }
  int64_t RowBytes() const { return ExpertRowBytes(format, in); }
  int64_t InputWidth() const { return groups * in; }  // of the projected rows (after the input activation)
  int64_t GroupRows() const { return out / groups; }
};

// The weight in its stored element type (uint8 e4m3 bits for FP8, uint8 nibble pairs for int4) and its scales where
// the format has them (ExpertFormatHasScales: float32 for FP8, float16 bits for int8/int4, else null); host memory
// for the CPU kernel, device memory for the CUDA kernel.
struct DenseWeight {
  const void* data = nullptr;
  const void* scales = nullptr;
};

void ValidateDenseProjectionAttributes(const DenseProjectionAttributes& attributes);

DenseProjectionShape ValidateDenseProjection(const DenseProjectionInputs& inputs,
                                             const DenseProjectionAttributes& attributes);

}  // namespace glm_ops
