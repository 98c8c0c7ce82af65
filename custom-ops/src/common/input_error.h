// Input validation shared by every kernel flavour (CPU and CUDA): an op checks its inputs once, here, and a
// failure names the op, the input, what was expected and what arrived.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace glm_ops {

class InputError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

std::string FormatShape(const std::vector<int64_t>& shape);

// "<op>: input '<name>' <what>: expected <expected>, got <actual>"
[[noreturn]] void FailInput(const char* op, const char* input, const std::string& what, const std::string& expected,
                            const std::string& actual);

// "<op>: attribute '<name>' <what>: expected <expected>, got <actual>"
[[noreturn]] void FailAttribute(const char* op, const char* attribute, const std::string& what,
                                const std::string& expected, const std::string& actual);

void CheckRank(const char* op, const char* input, const std::vector<int64_t>& shape, size_t rank);
// Checks shape[axis] == expected; `meaning` says where the expected size comes from (e.g. "kv_lora_rank").
void CheckDim(const char* op, const char* input, const std::vector<int64_t>& shape, size_t axis, int64_t expected,
              const char* meaning);
// Checks shape[axis] >= minimum (e.g. a width that must not be empty).
void CheckDimAtLeast(const char* op, const char* input, const std::vector<int64_t>& shape, size_t axis,
                     int64_t minimum, const char* meaning);

}  // namespace glm_ops
