// Glue between ONNX Runtime's kernel API and the ORT-free validation/kernels: tensor descriptions, attributes
// with defaults, and the translation of exceptions into OrtStatus values (InputError -> ORT_INVALID_ARGUMENT).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/op_specs.h"
#include "common/tensor_desc.h"
#include "ort/ort_api.h"

namespace glm_ops::ort {

DType ToDType(ONNXTensorElementDataType type);

// Element type and shape of a present input.
TensorDesc Describe(const Ort::ConstValue& value);

// The input at `index`, or an empty value when an optional input is absent (or beyond the node's input count).
Ort::ConstValue OptionalInput(const Ort::KernelContext& context, size_t index);

// Attribute `name` of `op` as its spec (common/op_specs.h) declares it: a required one that is missing fails with an
// InputError naming op and attribute; an absent optional one yields the spec's default.
int64_t IntAttribute(const OrtKernelInfo* info, const OpSpec& op, std::string_view name);
float FloatAttribute(const OrtKernelInfo* info, const OpSpec& op, std::string_view name);
// A string attribute (e.g. MoeExperts' weight_format): absent and optional yields the spec's default_text.
std::string StringAttribute(const OrtKernelInfo* info, const OpSpec& op, std::string_view name);
// An optional attribute without a default (the op derives the value per call when it is absent).
std::optional<float> OptionalFloatAttribute(const OrtKernelInfo* info, const OpSpec& op, std::string_view name);

// Runs `body`, converting exceptions into an OrtStatus (nullptr on success).
template <typename Body>
OrtStatusPtr Guarded(Body&& body) noexcept;

OrtStatusPtr StatusFromCurrentException() noexcept;

template <typename Body>
OrtStatusPtr Guarded(Body&& body) noexcept {
  try {
    body();
    return nullptr;
  } catch (...) {
    return StatusFromCurrentException();
  }
}

}  // namespace glm_ops::ort
