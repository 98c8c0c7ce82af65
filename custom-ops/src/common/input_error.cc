#include "common/input_error.h"

namespace glm_ops {

std::string FormatShape(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

void FailInput(const char* op, const char* input, const std::string& what, const std::string& expected,
               const std::string& actual) {
  throw InputError(std::string(op) + ": input '" + input + "' " + what + ": expected " + expected + ", got " + actual);
}

void FailAttribute(const char* op, const char* attribute, const std::string& what, const std::string& expected,
                   const std::string& actual) {
  throw InputError(std::string(op) + ": attribute '" + attribute + "' " + what + ": expected " + expected + ", got " +
                   actual);
}

void CheckRank(const char* op, const char* input, const std::vector<int64_t>& shape, size_t rank) {
  if (shape.size() != rank)
    FailInput(op, input, "has the wrong rank", std::to_string(rank) + "-D",
              std::to_string(shape.size()) + "-D " + FormatShape(shape));
}

void CheckDim(const char* op, const char* input, const std::vector<int64_t>& shape, size_t axis, int64_t expected,
              const char* meaning) {
  if (shape.size() <= axis || shape[axis] != expected)
    FailInput(op, input, "has the wrong shape",
              "dimension " + std::to_string(axis) + " = " + std::to_string(expected) + " (" + meaning + ")",
              FormatShape(shape));
}

void CheckDimAtLeast(const char* op, const char* input, const std::vector<int64_t>& shape, size_t axis,
                     int64_t minimum, const char* meaning) {
  if (shape.size() <= axis || shape[axis] < minimum)
    FailInput(op, input, "has the wrong shape",
              "dimension " + std::to_string(axis) + " >= " + std::to_string(minimum) + " (" + meaning + ")",
              FormatShape(shape));
}

}  // namespace glm_ops
