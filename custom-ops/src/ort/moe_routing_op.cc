// ORT wrapper of MoeRouting (docs/onnx-contract.md; declared from common/op_specs.h): reads attributes once,
// validates each call, runs the kernel.
#include <vector>

#include "common/moe_routing_validation.h"
#include "cpu/moe_routing.h"
#include "ort/op_inputs.h"
#include "ort/op_registry.h"
#include "ort/ort_parallel.h"
#include "ort/spec_custom_op.h"

namespace glm_ops::ort {

namespace {

struct MoeRoutingKernel {
  explicit MoeRoutingKernel(const OrtKernelInfo* info) : attributes(ReadMoeRoutingAttributes(info)) {}
  MoeRoutingAttributes attributes;

  OrtStatusPtr ComputeV2(OrtKernelContext* raw_context) {
    return Guarded([&] {
      Ort::KernelContext context(raw_context);
      const MoeRoutingValues in = ReadMoeRoutingInputs(context);
      const MoeRoutingShape shape = ValidateMoeRouting(in.logits_desc, in.bias_desc, attributes);
      const std::vector<int64_t> out_shape{shape.tokens, attributes.top_k};
      auto ids = context.GetOutput(0, out_shape);
      auto weights = context.GetOutput(1, out_shape);
      if (shape.tokens == 0) return;
      cpu::MoeRouting(KernelParallel(OrtParallel(context)), shape, in.logits.GetTensorData<float>(),
                      in.bias.GetTensorData<float>(), ids.GetTensorMutableData<int32_t>(),
                      weights.GetTensorMutableData<float>());
    });
  }
};

}  // namespace

const OrtCustomOp* MoeRoutingCpuOp() {
  static const SpecCustomOp<MoeRoutingKernel> op(kMoeRoutingSpec, nullptr);
  return &op;
}

}  // namespace glm_ops::ort
