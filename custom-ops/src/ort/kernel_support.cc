#include "ort/kernel_support.h"

#include <exception>
#include <stdexcept>
#include <string>

#include "common/input_error.h"

namespace glm_ops::ort {

DType ToDType(ONNXTensorElementDataType type) {
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return DType::kFloat32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return DType::kFloat16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: return DType::kBFloat16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FN: return DType::kFloat8E4M3FN;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: return DType::kUInt8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8: return DType::kInt8;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32: return DType::kInt32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64: return DType::kInt64;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED: return DType::kUndefined;
    default: return DType::kOther;
  }
}

TensorDesc Describe(const Ort::ConstValue& value) {
  auto info = value.GetTensorTypeAndShapeInfo();
  return TensorDesc{ToDType(info.GetElementType()), info.GetShape()};
}

Ort::ConstValue OptionalInput(const Ort::KernelContext& context, size_t index) {
  if (index >= context.GetInputCount()) return Ort::ConstValue{nullptr};
  return context.GetInput(index);
}

namespace {

// Reads the attribute into `value`; false when the node does not carry it.
bool TryRead(const OrtKernelInfo* info, const AttributeSpec& spec, int64_t* value) {
  const std::string name(spec.name);
  OrtStatus* status = Ort::GetApi().KernelInfoGetAttribute_int64(info, name.c_str(), value);
  if (!status) return true;
  Ort::GetApi().ReleaseStatus(status);
  return false;
}

bool TryRead(const OrtKernelInfo* info, const AttributeSpec& spec, float* value) {
  const std::string name(spec.name);
  OrtStatus* status = Ort::GetApi().KernelInfoGetAttribute_float(info, name.c_str(), value);
  if (!status) return true;
  Ort::GetApi().ReleaseStatus(status);
  return false;
}

template <typename T>
T Attribute(const OrtKernelInfo* info, const OpSpec& op, std::string_view name, AttributeKind kind, const char* what) {
  const AttributeSpec& spec = FindAttribute(op, name);
  if (spec.kind != kind)
    throw std::logic_error(std::string(op.name) + ": attribute '" + std::string(name) + "' is not " + what);
  T value{};
  if (TryRead(info, spec, &value)) return value;
  if (spec.required || !spec.has_default)
    FailAttribute(std::string(op.name).c_str(), std::string(name).c_str(), "is missing", what, "none");
  return static_cast<T>(spec.default_value);
}

}  // namespace

int64_t IntAttribute(const OrtKernelInfo* info, const OpSpec& op, std::string_view name) {
  return Attribute<int64_t>(info, op, name, AttributeKind::kInt, "an int attribute");
}

float FloatAttribute(const OrtKernelInfo* info, const OpSpec& op, std::string_view name) {
  return Attribute<float>(info, op, name, AttributeKind::kFloat, "a float attribute");
}

std::string StringAttribute(const OrtKernelInfo* info, const OpSpec& op, std::string_view name) {
  const AttributeSpec& spec = FindAttribute(op, name);
  if (spec.kind != AttributeKind::kString)
    throw std::logic_error(std::string(op.name) + ": attribute '" + std::string(name) + "' is not a string attribute");
  const std::string key(name);
  // The C API's two-call pattern: the first call reports the size (including the terminating zero).
  size_t size = 0;
  OrtStatus* status = Ort::GetApi().KernelInfoGetAttribute_string(info, key.c_str(), nullptr, &size);
  if (status) {
    Ort::GetApi().ReleaseStatus(status);
    if (spec.required || !spec.has_default)
      FailAttribute(std::string(op.name).c_str(), key.c_str(), "is missing", "a string attribute", "none");
    return std::string(spec.default_text);
  }
  std::string value(size, '\0');
  Ort::ThrowOnError(Ort::GetApi().KernelInfoGetAttribute_string(info, key.c_str(), value.data(), &size));
  value.resize(size > 0 ? size - 1 : 0);
  return value;
}

std::optional<float> OptionalFloatAttribute(const OrtKernelInfo* info, const OpSpec& op, std::string_view name) {
  const AttributeSpec& spec = FindAttribute(op, name);
  if (spec.kind != AttributeKind::kFloat || spec.required || spec.has_default)
    throw std::logic_error(std::string(op.name) + ": attribute '" + std::string(name) +
                           "' is not an optional float without a default");
  float value = 0;
  if (TryRead(info, spec, &value)) return value;
  return std::nullopt;
}

OrtStatusPtr StatusFromCurrentException() noexcept {
  try {
    throw;
  } catch (const InputError& e) {
    return Ort::GetApi().CreateStatus(ORT_INVALID_ARGUMENT, e.what());
  } catch (const Ort::Exception& e) {
    return Ort::GetApi().CreateStatus(e.GetOrtErrorCode(), e.what());
  } catch (const std::exception& e) {
    return Ort::GetApi().CreateStatus(ORT_FAIL, e.what());
  } catch (...) {
    return Ort::GetApi().CreateStatus(ORT_FAIL, "glm_onnx_ops: unknown exception");
  }
}

}  // namespace glm_ops::ort
