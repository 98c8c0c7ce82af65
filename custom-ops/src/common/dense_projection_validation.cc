#include "common/dense_projection_validation.h"

#include <string>

#include "common/input_error.h"

namespace glm_ops {

namespace {

constexpr const char* kOp = "DenseProjection";

ExpertWeightFormat FormatOf(DType type) {
  switch (type) {
    case DType::kFloat32: return ExpertWeightFormat::kFloat32;
    case DType::kBFloat16: return ExpertWeightFormat::kBFloat16;
    case DType::kFloat8E4M3FN:
    case DType::kUInt8: return ExpertWeightFormat::kFloat8E4M3;
    default: break;
  }
  FailInput(kOp, "weight", "has an unsupported element type", "float, bfloat16, float8e4m3fn or uint8 (e4m3 bits)",
            DTypeName(type));
}

}  // namespace

void ValidateDenseProjectionAttributes(const DenseProjectionAttributes& a) {
  // A multiple of 8 keeps every 8-wide vector of weights inside one scale block (as MoeExperts).
  if (a.quant_block_size < 8 || a.quant_block_size % 8 != 0)
    FailAttribute(kOp, "quant_block_size", "is out of range", "a positive multiple of 8 (GLM FP8: 128)",
                  std::to_string(a.quant_block_size));
  // Formats that the element type alone cannot name (int4 in uint8) are announced here; this build decodes only
  // the formats the element type names.
  if (!a.weight_format.empty())
    FailAttribute(kOp, "weight_format", "names a format this build does not decode",
                  "\"\" (the weight's element type decides: float, bfloat16, block-FP8)",
                  "\"" + a.weight_format + "\"");
}

DenseProjectionShape ValidateDenseProjection(const DenseProjectionInputs& in, const DenseProjectionAttributes& a) {
  ValidateDenseProjectionAttributes(a);
  CheckDType(kOp, "input", in.input, DType::kFloat32);
  CheckRank(kOp, "input", in.input.shape, 2);
  CheckDimAtLeast(kOp, "input", in.input.shape, 1, 1, "in_features");
  const int64_t tokens = in.input.shape[0], k = in.input.shape[1];

  const ExpertWeightFormat format = FormatOf(in.weight.dtype);
  CheckRank(kOp, "weight", in.weight.shape, 2);
  CheckDimAtLeast(kOp, "weight", in.weight.shape, 0, 1, "out_features");
  CheckDim(kOp, "weight", in.weight.shape, 1, k, "in_features from input");
  DenseProjectionShape shape{tokens, k, in.weight.shape[0], a.quant_block_size, format};

  if (format != ExpertWeightFormat::kFloat8E4M3) {
    if (in.has_scales)
      FailInput(kOp, "scales", "is given for non-FP8 weights", "no scales for float/bfloat16 weights",
                std::string(DTypeName(in.scales.dtype)) + " " + FormatShape(in.scales.shape));
    return shape;
  }
  if (!in.has_scales)
    FailInput(kOp, "scales", "is missing",
              "float scales [ceil(out/quant_block_size), ceil(in/quant_block_size)] for FP8 weights", "no input");
  CheckDType(kOp, "scales", in.scales, DType::kFloat32);
  CheckRank(kOp, "scales", in.scales.shape, 2);
  const std::vector<int64_t> expected{shape.ScaleRows(), shape.ScaleCols()};
  if (in.scales.shape != expected)
    FailInput(kOp, "scales", "has the wrong shape",
              FormatShape(expected) + " (ceil-divisions of the weight's shape by quant_block_size " +
                  std::to_string(a.quant_block_size) + ")",
              FormatShape(in.scales.shape));
  return shape;
}

}  // namespace glm_ops
