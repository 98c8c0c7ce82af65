#include "ort/spec_custom_op.h"

#include <stdexcept>
#include <string>

namespace glm_ops::ort {

ONNXTensorElementDataType ToOnnxType(DType type) {
  switch (type) {
    case DType::kFloat32: return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
    case DType::kFloat16: return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
    case DType::kBFloat16: return ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16;
    case DType::kFloat8E4M3FN: return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FN;
    case DType::kUInt8: return ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
    case DType::kInt8: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
    case DType::kInt32: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
    case DType::kInt64: return ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
    case DType::kUndefined:
    case DType::kOther: break;
  }
  throw std::logic_error(std::string("no ONNX element type for ") + DTypeName(type));
}

ONNXTensorElementDataType DeclaredType(const TensorSpec& tensor) {
  if (!tensor.types.IsSingle()) return ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  for (int t = 0; t <= static_cast<int>(DType::kOther); ++t)
    if (tensor.types.Contains(static_cast<DType>(t))) return ToOnnxType(static_cast<DType>(t));
  throw std::logic_error("spec of tensor '" + std::string(tensor.name) + "' admits no known type");
}

}  // namespace glm_ops::ort
