#include "common/moe_experts_validation.h"

#include <string>

#include "common/input_error.h"

namespace glm_ops {

namespace {

constexpr const char* kOp = "MoeExperts";

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

const char* FormatName(ExpertWeightFormat f) {
  switch (f) {
    case ExpertWeightFormat::kFloat32: return "float";
    case ExpertWeightFormat::kBFloat16: return "bfloat16";
    case ExpertWeightFormat::kFloat8E4M3: return "FP8";
    case ExpertWeightFormat::kInt8: return "int8";
    case ExpertWeightFormat::kInt4: return "int4";
  }
  return "?";
}

// The weight format from gate_weights' element type and the weight_format attribute.
ExpertWeightFormat FormatOf(DType wtype, const std::string& weight_format) {
  if (weight_format == "int4") {
    if (wtype != DType::kUInt8)
      FailInput(kOp, "gate_weights", "has the wrong element type for weight_format \"int4\"",
                "uint8 (two int4 values per byte)", DTypeName(wtype));
    return ExpertWeightFormat::kInt4;
  }
  switch (wtype) {
    case DType::kFloat32: return ExpertWeightFormat::kFloat32;
    case DType::kBFloat16: return ExpertWeightFormat::kBFloat16;
    case DType::kFloat8E4M3FN:
    case DType::kUInt8: return ExpertWeightFormat::kFloat8E4M3;
    case DType::kInt8: return ExpertWeightFormat::kInt8;
    default:
      FailInput(kOp, "gate_weights", "has an unsupported element type",
                "float, bfloat16, float8e4m3fn, uint8 (e4m3 bits, or int4 with weight_format \"int4\") or int8",
                DTypeName(wtype));
  }
}

// rows x cols: the logical weight matrix of one expert (cols counted in weights, not bytes).
void CheckScales(const char* name, bool present, const TensorDesc& desc, ExpertWeightFormat format, int64_t experts,
                 int64_t rows, int64_t cols, int64_t block) {
  if (!ExpertFormatHasScales(format)) {
    if (present)
      FailInput(kOp, name, "is given for non-FP8 weights", "no scale inputs for float/bfloat16 weights",
                std::string(DTypeName(desc.dtype)) + " " + FormatShape(desc.shape));
    return;
  }
  const bool fp8 = format == ExpertWeightFormat::kFloat8E4M3;
  if (!present)
    FailInput(kOp, name, "is missing",
              fp8 ? "float scales [n_experts, ceil(rows/quant_block_size), ceil(cols/quant_block_size)] for FP8 "
                    "weights"
                  : std::string("float16 scales [n_experts, rows, ceil(cols/quant_block_size)] for ") +
                        FormatName(format) + " weights",
              "no input");
  CheckDType(kOp, name, desc, fp8 ? DType::kFloat32 : DType::kFloat16);
  CheckRank(kOp, name, desc.shape, 3);
  const std::vector<int64_t> expected{experts, fp8 ? CeilDiv(rows, block) : rows, CeilDiv(cols, block)};
  if (desc.shape != expected)
    FailInput(kOp, name, "has the wrong shape",
              FormatShape(expected) +
                  (fp8 ? " (n_experts, ceil-divisions by quant_block_size " + std::to_string(block) + ")"
                       : " (n_experts, rows, ceil(cols / quant_block_size " + std::to_string(block) + "))"),
              FormatShape(desc.shape));
}

}  // namespace

void ValidateMoeExpertsAttributes(const MoeExpertsAttributes& a) {
  // A multiple of 8 keeps every 8-wide vector of weights inside one scale block (and makes int4 groups whole bytes).
  if (a.quant_block_size < 8 || a.quant_block_size % 8 != 0)
    FailAttribute(kOp, "quant_block_size", "is out of range",
                  "a positive multiple of 8 (GLM FP8: 128; int8/int4 groups: 32 or 128)",
                  std::to_string(a.quant_block_size));
  if (!a.weight_format.empty() && a.weight_format != "int4")
    FailAttribute(kOp, "weight_format", "is unknown", "\"\" (from the weights' element type) or \"int4\"",
                  "\"" + a.weight_format + "\"");
  if (a.shared_experts < 0)
    FailAttribute(kOp, "shared_experts", "is out of range",
                  "0 or more (the last shared_experts of the stacked experts, run on every token)",
                  std::to_string(a.shared_experts));
}

MoeExpertsShape ValidateMoeExperts(const MoeExpertsInputs& in, const MoeExpertsAttributes& a) {
  ValidateMoeExpertsAttributes(a);
  CheckDType(kOp, "hidden", in.hidden, DType::kFloat32);
  CheckRank(kOp, "hidden", in.hidden.shape, 2);
  CheckDimAtLeast(kOp, "hidden", in.hidden.shape, 1, 1, "hidden_size");
  const int64_t tokens = in.hidden.shape[0], hidden = in.hidden.shape[1];

  CheckDType(kOp, "expert_ids", in.expert_ids, DType::kInt32);
  CheckRank(kOp, "expert_ids", in.expert_ids.shape, 2);
  CheckDim(kOp, "expert_ids", in.expert_ids.shape, 0, tokens, "tokens from hidden");
  CheckDimAtLeast(kOp, "expert_ids", in.expert_ids.shape, 1, 1, "top_k");
  const int64_t top_k = in.expert_ids.shape[1];

  CheckDType(kOp, "expert_weights", in.expert_weights, DType::kFloat32);
  CheckRank(kOp, "expert_weights", in.expert_weights.shape, 2);
  CheckDim(kOp, "expert_weights", in.expert_weights.shape, 0, tokens, "tokens from hidden");
  CheckDim(kOp, "expert_weights", in.expert_weights.shape, 1, top_k, "top_k from expert_ids");

  const DType wtype = in.gate_weights.dtype;
  const ExpertWeightFormat format = FormatOf(wtype, a.weight_format);
  const bool int4 = format == ExpertWeightFormat::kInt4;
  // int4 rows hold ceil(cols / 2) bytes.
  auto stored = [&](int64_t cols) { return int4 ? CeilDiv(cols, 2) : cols; };
  CheckRank(kOp, "gate_weights", in.gate_weights.shape, 3);
  CheckDimAtLeast(kOp, "gate_weights", in.gate_weights.shape, 0, 1, "n_experts");
  CheckDimAtLeast(kOp, "gate_weights", in.gate_weights.shape, 1, 1, "moe_intermediate_size");
  CheckDim(kOp, "gate_weights", in.gate_weights.shape, 2, stored(hidden),
           int4 ? "ceil(hidden_size / 2) from hidden: int4 pairs" : "hidden_size from hidden");
  const int64_t experts = in.gate_weights.shape[0], inter = in.gate_weights.shape[1];
  if (a.shared_experts >= experts)
    FailAttribute(kOp, "shared_experts", "leaves no routed expert",
                  "fewer than the " + std::to_string(experts) + " stacked experts of gate_weights",
                  std::to_string(a.shared_experts));

  for (const auto& [name, desc] : {std::pair<const char*, const TensorDesc*>{"up_weights", &in.up_weights},
                                   {"down_weights", &in.down_weights}}) {
    if (desc->dtype != wtype)
      FailInput(kOp, name, "has a different element type from gate_weights", DTypeName(wtype),
                DTypeName(desc->dtype));
  }
  if (in.up_weights.shape != in.gate_weights.shape)
    FailInput(kOp, "up_weights", "has the wrong shape", FormatShape(in.gate_weights.shape) + " (as gate_weights)",
              FormatShape(in.up_weights.shape));
  const std::vector<int64_t> down{experts, hidden, stored(inter)};
  if (in.down_weights.shape != down)
    FailInput(kOp, "down_weights", "has the wrong shape",
              FormatShape(down) + (int4 ? " (n_experts, hidden, ceil(inter / 2))" : " (n_experts, hidden, inter)"),
              FormatShape(in.down_weights.shape));

  const int64_t qb = a.quant_block_size;
  CheckScales("gate_scales", in.has_gate_scales, in.gate_scales, format, experts, inter, hidden, qb);
  CheckScales("up_scales", in.has_up_scales, in.up_scales, format, experts, inter, hidden, qb);
  CheckScales("down_scales", in.has_down_scales, in.down_scales, format, experts, hidden, inter, qb);

  return MoeExpertsShape{tokens, hidden, top_k, experts, inter, qb, format, a.shared_experts};
}

void CheckExpertIds(const MoeExpertsShape& shape, const int32_t* ids) {
  for (int64_t i = 0; i < shape.tokens * shape.top_k; ++i)
    if (ids[i] < 0 || ids[i] >= shape.RoutedExperts())
      FailInput(kOp, "expert_ids", "holds an id outside the routed experts",
                "ids in [0, " + std::to_string(shape.RoutedExperts()) + ")" +
                    (shape.shared_experts > 0 ? " (the last " + std::to_string(shape.shared_experts) +
                                                    " stacked experts are shared)"
                                              : ""),
                "expert_ids[" + std::to_string(i / shape.top_k) + ", " + std::to_string(i % shape.top_k) +
                    "] = " + std::to_string(ids[i]));
}

}  // namespace glm_ops
