// ORT wrapper of MoeExperts (docs/onnx-contract.md). The weight inputs are declared with an undefined element type
// (ORT then accepts any tensor type for each); the shared validation admits float, bfloat16, float8e4m3fn and uint8
// and requires the three to agree.
#include <vector>

#include "common/moe_experts_validation.h"
#include "cpu/moe_experts.h"
#include "glm_ops/op_names.h"
#include "ort/op_inputs.h"
#include "ort/kernel_support.h"
#include "ort/op_registry.h"

namespace glm_ops::ort {

namespace {

constexpr const char* kOp = kMoeExpertsName;

struct MoeExpertsKernel {
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
      cpu::MoeExperts(shape, hidden.GetTensorData<float>(), ids.GetTensorData<int32_t>(),
                      weights.GetTensorData<float>(), w, out.GetTensorMutableData<float>());
    });
  }
};

struct MoeExpertsOp : Ort::CustomOpBase<MoeExpertsOp, MoeExpertsKernel, true> {
  OrtStatusPtr CreateKernelV2(const OrtApi&, const OrtKernelInfo* info, void** kernel) const {
    return Guarded([&] {
      *kernel = new MoeExpertsKernel{ReadMoeExpertsAttributes(info)};
    });
  }
  const char* GetName() const { return kOp; }
  size_t GetInputTypeCount() const { return 9; }
  ONNXTensorElementDataType GetInputType(size_t index) const {
    if (index == 1) return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
    if (index >= 3 && index <= 5) return ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  }
  OrtCustomOpInputOutputCharacteristic GetInputCharacteristic(size_t index) const {
    return index >= 6 ? OrtCustomOpInputOutputCharacteristic::INPUT_OUTPUT_OPTIONAL
                      : OrtCustomOpInputOutputCharacteristic::INPUT_OUTPUT_REQUIRED;
  }
  size_t GetOutputTypeCount() const { return 1; }
  ONNXTensorElementDataType GetOutputType(size_t) const { return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT; }
};

}  // namespace

const OrtCustomOp* MoeExpertsCpuOp() {
  static const MoeExpertsOp op;
  return &op;
}

}  // namespace glm_ops::ort
