// Glue between ONNX Runtime's kernel API and the ORT-free validation/kernels: tensor descriptions, attributes
// with defaults, and the translation of exceptions into OrtStatus values (InputError -> ORT_INVALID_ARGUMENT).
#pragma once

#include <cstdint>
#include <string>

#include "common/tensor_desc.h"
#include "ort/ort_api.h"

namespace glm_ops::ort {

DType ToDType(ONNXTensorElementDataType type);

// Element type and shape of a present input.
TensorDesc Describe(const Ort::ConstValue& value);

// The input at `index`, or an empty value when an optional input is absent (or beyond the node's input count).
Ort::ConstValue OptionalInput(const Ort::KernelContext& context, size_t index);

int64_t RequiredIntAttribute(const OrtKernelInfo* info, const char* op, const char* name);
int64_t IntAttribute(const OrtKernelInfo* info, const char* name, int64_t fallback);
float RequiredFloatAttribute(const OrtKernelInfo* info, const char* op, const char* name);
float FloatAttribute(const OrtKernelInfo* info, const char* name, float fallback);

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
