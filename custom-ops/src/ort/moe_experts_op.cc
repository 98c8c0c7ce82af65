// ORT wrapper of MoeExperts (docs/onnx-contract.md; declared from common/op_specs.h). The weight inputs admit
// several element types, so ORT is told "undefined" (any type) for each; the shared validation checks the spec's
// set and requires the three to agree.
#include <vector>

#include "common/moe_experts_validation.h"
#include "cpu/moe_experts.h"
#include "ort/op_inputs.h"
#include "ort/op_registry.h"
#include "ort/ort_parallel.h"
#include "ort/spec_custom_op.h"

namespace glm_ops::ort {

namespace {

struct MoeExpertsKernel {
  explicit MoeExpertsKernel(const OrtKernelInfo* info) : attributes(ReadMoeExpertsAttributes(info)) {}
  MoeExpertsAttributes attributes;

  OrtStatusPtr ComputeV2(OrtKernelContext* raw_context) {
    return Guarded([&] {
      Ort::KernelContext context(raw_context);
      const auto [hidden, ids, weights, gate, up, down, gate_scales, up_scales, down_scales, in] =
          ReadMoeExpertsInputs(context);
      const MoeExpertsShape shape = ValidateMoeExperts(in, attributes);
      auto out = context.GetOutput(0, std::vector<int64_t>{shape.tokens, shape.hidden});
      if (shape.tokens == 0) return;
      CheckExpertIds(shape, ids.GetTensorData<int32_t>());
      const bool fp8 = shape.format == ExpertWeightFormat::kFloat8E4M3;
      const cpu::ExpertWeights w{gate.GetTensorRawData(),
                                 up.GetTensorRawData(),
                                 down.GetTensorRawData(),
                                 fp8 ? gate_scales.GetTensorData<float>() : nullptr,
                                 fp8 ? up_scales.GetTensorData<float>() : nullptr,
                                 fp8 ? down_scales.GetTensorData<float>() : nullptr};
      cpu::MoeExperts(KernelParallel(OrtParallel(context)), shape, hidden.GetTensorData<float>(),
                      ids.GetTensorData<int32_t>(), weights.GetTensorData<float>(), w,
                      out.GetTensorMutableData<float>());
    });
  }
};

}  // namespace

const OrtCustomOp* MoeExpertsCpuOp() {
  static const SpecCustomOp<MoeExpertsKernel> op(kMoeExpertsSpec, nullptr);
  return &op;
}

}  // namespace glm_ops::ort
