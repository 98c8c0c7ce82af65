#include "common/tensor_desc.h"

#include "common/input_error.h"

namespace glm_ops {

const char* DTypeName(DType type) {
  switch (type) {
    case DType::kUndefined: return "undefined";
    case DType::kFloat32: return "float";
    case DType::kFloat16: return "float16";
    case DType::kBFloat16: return "bfloat16";
    case DType::kFloat8E4M3FN: return "float8e4m3fn";
    case DType::kUInt8: return "uint8";
    case DType::kInt8: return "int8";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
    case DType::kOther: return "an unsupported type";
  }
  return "an unknown type";
}

int64_t TensorDesc::ElementCount() const {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  return count;
}

void CheckDType(const char* op, const char* input, const TensorDesc& desc, DType expected) {
  if (desc.dtype != expected) FailInput(op, input, "has the wrong element type", DTypeName(expected), DTypeName(desc.dtype));
}

}  // namespace glm_ops
