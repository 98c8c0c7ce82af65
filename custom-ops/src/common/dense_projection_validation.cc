#include "common/dense_projection_validation.h"

#include <string>

#include "common/input_error.h"

namespace glm_ops {

namespace {

constexpr const char* kOp = "DenseProjection";

// The weight format from the weight's element type and the weight_format attribute (MoeExperts' rules).
ExpertWeightFormat FormatOf(DType type, const std::string& weight_format) {
  if (weight_format == "int4") {
    if (type != DType::kUInt8)
      FailInput(kOp, "weight", "has the wrong element type for weight_format \"int4\"",
                "uint8 (two int4 values per byte)", DTypeName(type));
    return ExpertWeightFormat::kInt4;
  }
  switch (type) {
    case DType::kFloat32: return ExpertWeightFormat::kFloat32;
    case DType::kBFloat16: return ExpertWeightFormat::kBFloat16;
    case DType::kFloat8E4M3FN:
    case DType::kUInt8: return ExpertWeightFormat::kFloat8E4M3;
    case DType::kInt8: return ExpertWeightFormat::kInt8;
    default: break;
  }
  FailInput(kOp, "weight", "has an unsupported element type",
            "float, bfloat16, float8e4m3fn, uint8 (e4m3 bits, or int4 with weight_format \"int4\") or int8",
            DTypeName(type));
}

}  // namespace

void ValidateDenseProjectionAttributes(const DenseProjectionAttributes& a) {
  // A multiple of 8 keeps every 8-wide vector of weights inside one scale block or group (and int4 groups whole
  // bytes), as MoeExperts.
  if (a.quant_block_size < 8 || a.quant_block_size % 8 != 0)
    FailAttribute(kOp, "quant_block_size", "is out of range", "a positive multiple of 8 (GLM FP8: 128; int: 32, 128)",
                  std::to_string(a.quant_block_size));
  if (!a.weight_format.empty() && a.weight_format != "int4")
    FailAttribute(kOp, "weight_format", "is not a known weight format",
                  "\"\" (the weight's element type decides) or \"int4\" (uint8 weights hold int4 pairs)",
                  "\"" + a.weight_format + "\"");
  if (a.groups < 1)
    FailAttribute(kOp, "groups", "is out of range", "a positive number of groups (1: one plain projection)",
                  std::to_string(a.groups));
  if (!a.input_activation.empty() && a.input_activation != "swiglu")
    FailAttribute(kOp, "input_activation", "is not a known activation",
                  "\"\" (the input as it is) or \"swiglu\" (SiLU(gate) * up of an input [T, 2 * in])",
                  "\"" + a.input_activation + "\"");
  if (!a.input_activation.empty() && a.groups != 1)
    FailAttribute(kOp, "input_activation", "cannot combine with groups", "groups 1 with \"swiglu\"",
                  "groups " + std::to_string(a.groups));
}

DenseProjectionShape ValidateDenseProjection(const DenseProjectionInputs& in, const DenseProjectionAttributes& a) {
  ValidateDenseProjectionAttributes(a);
  CheckDType(kOp, "input", in.input, DType::kFloat32);
  const int64_t g = a.groups;
  const auto& x = in.input.shape;
  if (x.size() != 2 && !(x.size() == 3 && g > 1))
    FailInput(kOp, "input", "has the wrong rank", g > 1 ? "2 ([T, groups * in]) or 3 ([T, groups, in])" : "2 ([T, in])",
              FormatShape(x));
  if (x.size() == 3) CheckDim(kOp, "input", x, 1, g, "groups");
  CheckDimAtLeast(kOp, "input", x, x.size() - 1, 1, "in_features");
  if (x.size() == 2 && x[1] % g != 0)
    FailInput(kOp, "input", "has a width that is not a multiple of groups",
              "[T, groups * in] with groups " + std::to_string(g), FormatShape(x));
  const bool swiglu = a.input_activation == "swiglu";
  if (swiglu && x[1] % 2 != 0)
    FailInput(kOp, "input", "has an odd width for input_activation \"swiglu\"", "[T, 2 * in] ([gate | up])",
              FormatShape(x));
  const int64_t tokens = x[0], k = x.size() == 3 ? x[2] : swiglu ? x[1] / 2 : x[1] / g;

  const ExpertWeightFormat format = FormatOf(in.weight.dtype, a.weight_format);
  CheckRank(kOp, "weight", in.weight.shape, 2);
  CheckDimAtLeast(kOp, "weight", in.weight.shape, 0, 1, "out_features");
  if (format == ExpertWeightFormat::kInt4)
    CheckDim(kOp, "weight", in.weight.shape, 1, (k + 1) / 2, "ceil(in_features / 2) bytes of int4 pairs");
  else
    CheckDim(kOp, "weight", in.weight.shape, 1, k,
             g > 1    ? "in_features per group from input"
             : swiglu ? "in_features = half the input's width (swiglu)"
                      : "in_features from input");
  const int64_t rows = in.weight.shape[0];
  if (rows % g != 0)
    FailInput(kOp, "weight", "has rows that do not split into groups",
              "a multiple of groups " + std::to_string(g) + " rows", FormatShape(in.weight.shape));
  // A group's FP8 rows must start on a scale block, so that each group is a whole matrix of blocks.
  if (g > 1 && format == ExpertWeightFormat::kFloat8E4M3 && (rows / g) % a.quant_block_size != 0)
    FailInput(kOp, "weight", "has FP8 groups that do not start on a scale block",
              "rows per group a multiple of quant_block_size " + std::to_string(a.quant_block_size),
              FormatShape(in.weight.shape) + " in " + std::to_string(g) + " groups");
  const DenseProjectionShape shape{tokens, k, rows, g, a.quant_block_size, format, swiglu, in.has_addend};
  if (in.has_addend) {
    CheckDType(kOp, "addend", in.addend, DType::kFloat32);
    CheckRank(kOp, "addend", in.addend.shape, 2);
    CheckDim(kOp, "addend", in.addend.shape, 0, tokens, "tokens from input");
    CheckDim(kOp, "addend", in.addend.shape, 1, rows, "out_features from weight");
  }

  if (!ExpertFormatHasScales(format)) {
    if (in.has_scales)
      FailInput(kOp, "scales", "is given for float/bfloat16 weights", "no scales for float/bfloat16 weights",
                std::string(DTypeName(in.scales.dtype)) + " " + FormatShape(in.scales.shape));
    return shape;
  }
  const bool fp8 = format == ExpertWeightFormat::kFloat8E4M3;
  if (!in.has_scales)
    FailInput(kOp, "scales", "is missing",
              fp8 ? "float scales [ceil(out/quant_block_size), ceil(in/quant_block_size)] for FP8 weights"
                  : "float16 scales [out, ceil(in/quant_block_size)] for int8/int4 weights",
              "no input");
  CheckDType(kOp, "scales", in.scales, fp8 ? DType::kFloat32 : DType::kFloat16);
  CheckRank(kOp, "scales", in.scales.shape, 2);
  const std::vector<int64_t> expected{shape.ScaleRows(), shape.ScaleCols()};
  if (in.scales.shape != expected)
    FailInput(kOp, "scales", "has the wrong shape",
              FormatShape(expected) +
                  (fp8 ? " (ceil-divisions of the weight's shape by quant_block_size "
                       : " (out, ceil(in / quant_block_size ") +
                  std::to_string(a.quant_block_size) + "))",
              FormatShape(in.scales.shape));
  return shape;
}

}  // namespace glm_ops
