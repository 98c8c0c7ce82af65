#include "ort/kernel_support.h"

#include <exception>

#include "common/input_error.h"

namespace glm_ops::ort {

DType ToDType(ONNXTensorElementDataType type) {
  switch (type) {
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT: return DType::kFloat32;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16: return DType::kFloat16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16: return DType::kBFloat16;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FN: return DType::kFloat8E4M3FN;
    case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8: return DType::kUInt8;
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

int64_t RequiredIntAttribute(const OrtKernelInfo* info, const char* op, const char* name) {
  int64_t value = 0;
  if (OrtStatus* status = Ort::GetApi().KernelInfoGetAttribute_int64(info, name, &value)) {
    Ort::GetApi().ReleaseStatus(status);
    FailAttribute(op, name, "is missing", "an int attribute", "none");
  }
  return value;
}

int64_t IntAttribute(const OrtKernelInfo* info, const char* name, int64_t fallback) {
  int64_t value = 0;
  if (OrtStatus* status = Ort::GetApi().KernelInfoGetAttribute_int64(info, name, &value)) {
    Ort::GetApi().ReleaseStatus(status);
    return fallback;
  }
  return value;
}

float RequiredFloatAttribute(const OrtKernelInfo* info, const char* op, const char* name) {
  float value = 0;
  if (OrtStatus* status = Ort::GetApi().KernelInfoGetAttribute_float(info, name, &value)) {
    Ort::GetApi().ReleaseStatus(status);
    FailAttribute(op, name, "is missing", "a float attribute", "none");
  }
  return value;
}

float FloatAttribute(const OrtKernelInfo* info, const char* name, float fallback) {
  float value = 0;
  if (OrtStatus* status = Ort::GetApi().KernelInfoGetAttribute_float(info, name, &value)) {
    Ort::GetApi().ReleaseStatus(status);
    return fallback;
  }
  return value;
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
