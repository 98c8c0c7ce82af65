#include "common/moe_routing_validation.h"

#include <string>

#include "common/input_error.h"

namespace glm_ops {

namespace {
constexpr const char* kOp = "MoeRouting";
}

void ValidateMoeRoutingAttributes(const MoeRoutingAttributes& a) {
  if (a.top_k < 1) FailAttribute(kOp, "top_k", "is out of range", ">= 1", std::to_string(a.top_k));
  if (a.n_group < 1) FailAttribute(kOp, "n_group", "is out of range", ">= 1", std::to_string(a.n_group));
  if (a.topk_group < 1 || a.topk_group > a.n_group)
    FailAttribute(kOp, "topk_group", "is out of range", "1 <= topk_group <= n_group = " + std::to_string(a.n_group),
                  std::to_string(a.topk_group));
}

MoeRoutingShape ValidateMoeRouting(const TensorDesc& logits, const TensorDesc& bias, const MoeRoutingAttributes& a) {
  ValidateMoeRoutingAttributes(a);
  CheckDType(kOp, "router_logits", logits, DType::kFloat32);
  CheckRank(kOp, "router_logits", logits.shape, 2);
  CheckDimAtLeast(kOp, "router_logits", logits.shape, 1, 1, "n_experts");
  const int64_t experts = logits.shape[1];
  CheckDType(kOp, "correction_bias", bias, DType::kFloat32);
  CheckRank(kOp, "correction_bias", bias.shape, 1);
  CheckDim(kOp, "correction_bias", bias.shape, 0, experts, "n_experts from router_logits");
  if (experts % a.n_group != 0)
    FailInput(kOp, "router_logits", "has an expert count that n_group does not divide",
              "a multiple of n_group = " + std::to_string(a.n_group), std::to_string(experts) + " experts");
  const int64_t kept = a.topk_group * (experts / a.n_group);
  if (a.top_k > kept)
    FailAttribute(kOp, "top_k", "exceeds the experts in the kept groups",
                  "<= topk_group * n_experts / n_group = " + std::to_string(kept), std::to_string(a.top_k));
  return MoeRoutingShape{logits.shape[0], experts, a};
}

}  // namespace glm_ops
