#include "common/moe_experts_validation.h"

#include <string>

#include "common/input_error.h"

namespace glm_ops {

namespace {

constexpr const char* kOp = "MoeExperts";

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

void CheckScales(const char* name, bool present, const TensorDesc& desc, bool quantized, int64_t experts,
                 int64_t rows, int64_t cols, int64_t block) {
  if (!quantized) {
    if (present)
      FailInput(kOp, name, "is given for non-FP8 weights", "no scale inputs for float/bfloat16 weights",
                std::string(DTypeName(desc.dtype)) + " " + FormatShape(desc.shape));
    return;
  }
  if (!present)
    FailInput(kOp, name, "is missing", "float scales [n_experts, ceil(rows/quant_block_size), "
                                       "ceil(cols/quant_block_size)] for FP8 weights",
              "no input");
  CheckDType(kOp, name, desc, DType::kFloat32);
  CheckRank(kOp, name, desc.shape, 3);
  const std::vector<int64_t> expected{experts, CeilDiv(rows, block), CeilDiv(cols, block)};
  if (desc.shape != expected)
    FailInput(kOp, name, "has the wrong shape",
              FormatShape(expected) + " (n_experts, ceil-divisions by quant_block_size " + std::to_string(block) + ")",
              FormatShape(desc.shape));
}

}  // namespace

void ValidateMoeExpertsAttributes(const MoeExpertsAttributes& a) {
  // A multiple of 8 keeps every 8-wide vector of weights inside one scale block.
  if (a.quant_block_size < 8 || a.quant_block_size % 8 != 0)
    FailAttribute(kOp, "quant_block_size", "is out of range", "a positive multiple of 8 (GLM FP8: 128)",
                  std::to_string(a.quant_block_size));
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
  ExpertWeightFormat format;
  switch (wtype) {
    case DType::kFloat32: format = ExpertWeightFormat::kFloat32; break;
    case DType::kBFloat16: format = ExpertWeightFormat::kBFloat16; break;
    case DType::kFloat8E4M3FN:
    case DType::kUInt8: format = ExpertWeightFormat::kFloat8E4M3; break;
    default:
      FailInput(kOp, "gate_weights", "has an unsupported element type",
                "float, bfloat16, float8e4m3fn or uint8 (e4m3 bits)", DTypeName(wtype));
  }
  CheckRank(kOp, "gate_weights", in.gate_weights.shape, 3);
  CheckDimAtLeast(kOp, "gate_weights", in.gate_weights.shape, 0, 1, "n_experts");
  CheckDimAtLeast(kOp, "gate_weights", in.gate_weights.shape, 1, 1, "moe_intermediate_size");
  CheckDim(kOp, "gate_weights", in.gate_weights.shape, 2, hidden, "hidden_size from hidden");
  const int64_t experts = in.gate_weights.shape[0], inter = in.gate_weights.shape[1];

  for (const auto& [name, desc] : {std::pair<const char*, const TensorDesc*>{"up_weights", &in.up_weights},
                                   {"down_weights", &in.down_weights}}) {
    if (desc->dtype != wtype)
      FailInput(kOp, name, "has a different element type from gate_weights", DTypeName(wtype),
                DTypeName(desc->dtype));
  }
  if (in.up_weights.shape != in.gate_weights.shape)
    FailInput(kOp, "up_weights", "has the wrong shape", FormatShape(in.gate_weights.shape) + " (as gate_weights)",
              FormatShape(in.up_weights.shape));
  const std::vector<int64_t> down{experts, hidden, inter};
  if (in.down_weights.shape != down)
    FailInput(kOp, "down_weights", "has the wrong shape", FormatShape(down) + " (n_experts, hidden, inter)",
              FormatShape(in.down_weights.shape));

  const bool quantized = format == ExpertWeightFormat::kFloat8E4M3;
  const int64_t qb = a.quant_block_size;
  CheckScales("gate_scales", in.has_gate_scales, in.gate_scales, quantized, experts, inter, hidden, qb);
  CheckScales("up_scales", in.has_up_scales, in.up_scales, quantized, experts, inter, hidden, qb);
  CheckScales("down_scales", in.has_down_scales, in.down_scales, quantized, experts, hidden, inter, qb);

  return MoeExpertsShape{tokens, hidden, top_k, experts, inter, qb, format};
}

void CheckExpertIds(const MoeExpertsShape& shape, const int32_t* ids) {
  for (int64_t i = 0; i < shape.tokens * shape.top_k; ++i)
    if (ids[i] < 0 || ids[i] >= shape.experts)
      FailInput(kOp, "expert_ids", "holds an id outside the experts",
                "ids in [0, " + std::to_string(shape.experts) + ")",
                "expert_ids[" + std::to_string(i / shape.top_k) + ", " + std::to_string(i % shape.top_k) +
                    "] = " + std::to_string(ids[i]));
}

}  // namespace glm_ops
