// ORT wrapper of MoeRouting (docs/onnx-contract.md): reads attributes once, validates each call, runs the kernel.
#include <vector>

#include "common/moe_routing_validation.h"
#include "cpu/moe_routing.h"
#include "glm_ops/op_names.h"
#include "ort/op_inputs.h"
#include "ort/kernel_support.h"
#include "ort/op_registry.h"

namespace glm_ops::ort {

namespace {

struct MoeRoutingKernel {
  MoeRoutingAttributes attributes;

  OrtStatusPtr ComputeV2(OrtKernelContext* raw_context) {
    return Guarded([&] {
      Ort::KernelContext context(raw_context);
      Ort::ConstValue logits = context.GetInput(0);
      Ort::ConstValue bias = context.GetInput(1);
      const MoeRoutingShape shape = ValidateMoeRouting(Describe(logits), Describe(bias), attributes);
      const std::vector<int64_t> out_shape{shape.tokens, attributes.top_k};
      auto ids = context.GetOutput(0, out_shape);
      auto weights = context.GetOutput(1, out_shape);
      if (shape.tokens == 0) return;
      cpu::MoeRouting(shape, logits.GetTensorData<float>(), bias.GetTensorData<float>(),
                      ids.GetTensorMutableData<int32_t>(), weights.GetTensorMutableData<float>());
    });
  }
};

struct MoeRoutingOp : Ort::CustomOpBase<MoeRoutingOp, MoeRoutingKernel, true> {
  OrtStatusPtr CreateKernelV2(const OrtApi&, const OrtKernelInfo* info, void** kernel) const {
    return Guarded([&] {
      *kernel = new MoeRoutingKernel{ReadMoeRoutingAttributes(info)};
    });
  }
  const char* GetName() const { return kMoeRoutingName; }
  size_t GetInputTypeCount() const { return 2; }
  ONNXTensorElementDataType GetInputType(size_t) const { return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT; }
  size_t GetOutputTypeCount() const { return 2; }
  ONNXTensorElementDataType GetOutputType(size_t index) const {
    return index == 0 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 : ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  }
};

}  // namespace

const OrtCustomOp* MoeRoutingCpuOp() {
  static const MoeRoutingOp op;
  return &op;
}

}  // namespace glm_ops::ort
