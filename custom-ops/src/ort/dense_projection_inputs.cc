#include "ort/dense_projection_inputs.h"

#include "common/op_specs.h"
#include "ort/kernel_support.h"

namespace glm_ops::ort {

namespace {

constexpr const auto& kIn = spec::kDenseProjectionInputs;
constexpr size_t kInput = IndexOf(kIn, "input"), kWeight = IndexOf(kIn, "weight"), kScales = IndexOf(kIn, "scales"),
                 kAddend = IndexOf(kIn, "addend");

}  // namespace

DenseProjectionValues ReadDenseProjectionInputs(const Ort::KernelContext& context) {
  DenseProjectionValues v;
  v.input = context.GetInput(kInput);
  v.in.input = Describe(v.input);
  v.weight = context.GetInput(kWeight);
  v.in.weight = Describe(v.weight);
  v.scales = OptionalInput(context, kScales);
  v.in.has_scales = v.scales != nullptr;
  if (v.in.has_scales) v.in.scales = Describe(v.scales);
  v.addend = OptionalInput(context, kAddend);
  v.in.has_addend = v.addend != nullptr;
  if (v.in.has_addend) v.in.addend = Describe(v.addend);
  return v;
}

DenseWeight DenseWeightPointers(const DenseProjectionValues& v, const DenseProjectionShape& shape) {
  return {v.weight.GetTensorRawData(), ExpertFormatHasScales(shape.format) ? v.scales.GetTensorRawData() : nullptr};
}

DenseProjectionAttributes ReadDenseProjectionAttributes(const OrtKernelInfo* info) {
  const OpSpec& op = kDenseProjectionSpec;
  DenseProjectionAttributes a;
  a.quant_block_size = IntAttribute(info, op, "quant_block_size");
  a.weight_format = StringAttribute(info, op, "weight_format");
  a.groups = IntAttribute(info, op, "groups");
  a.input_activation = StringAttribute(info, op, "input_activation");
  ValidateDenseProjectionAttributes(a);
  return a;
}

}  // namespace glm_ops::ort
