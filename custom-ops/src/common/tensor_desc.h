// What validation needs to know about one input: its element type and shape. Kept free of ONNX Runtime types so
// the CPU wrappers, the CUDA wrappers and the tests all describe tensors the same way.
#pragma once

#include <cstdint>
#include <vector>

namespace glm_ops {

enum class DType {
  kUndefined,
  kFloat32,
  kFloat16,
  kBFloat16,
  kFloat8E4M3FN,
  kUInt8,
  kInt8,
  kInt32,
  kInt64,
  kOther,
};

const char* DTypeName(DType type);

struct TensorDesc {
  DType dtype = DType::kUndefined;
  std::vector<int64_t> shape;

  int64_t ElementCount() const;
};

// Fails with "<op>: input '<input>' has the wrong element type: expected <expected>, got <actual>".
void CheckDType(const char* op, const char* input, const TensorDesc& desc, DType expected);

}  // namespace glm_ops
