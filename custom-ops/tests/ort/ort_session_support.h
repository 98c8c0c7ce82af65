// Single-node ONNX models for the ORT-level tests (written by onnx_proto.h): sessions with the library registered as
// the runtime registers it, and tensors over the test's own buffers.
#pragma once

#include <gtest/gtest.h>
#include <onnxruntime_cxx_api.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "onnx_proto.h"

namespace glm_ops::ort_test {

inline Ort::Env& Environment() {
  static Ort::Env env(ORT_LOGGING_LEVEL_WARNING, "glm_ops_ort_tests");
  return env;
}

// A session over one node of our domain. `node_inputs` may contain "" for an omitted optional input.
inline Ort::Session MakeSession(const std::string& op, const std::vector<Port>& inputs,
                                const std::vector<Port>& outputs, const std::vector<std::string>& node_inputs,
                                const std::vector<Attribute>& attributes) {
  std::vector<std::string> output_names;
  for (const Port& p : outputs) output_names.push_back(p.name);
  const std::string model = Model({Node(op, "com.glm.onnx", node_inputs, output_names, attributes)}, inputs, outputs);
  Ort::SessionOptions options;
  options.RegisterCustomOpsLibrary(GLM_OPS_LIBRARY_PATH);
  return Ort::Session(Environment(), model.data(), model.size(), options);
}

template <typename T>
inline Ort::Value Wrap(std::vector<T>& data, const std::vector<int64_t>& shape, ONNXTensorElementDataType type) {
  static Ort::MemoryInfo cpu = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  return Ort::Value::CreateTensor(cpu, data.data(), data.size() * sizeof(T), shape.data(), shape.size(), type);
}

constexpr auto kF = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
constexpr auto kI = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;

inline std::vector<Ort::Value> RunSession(Ort::Session& session, const std::vector<const char*>& names,
                                          std::vector<Ort::Value>& values, const std::vector<const char*>& outputs) {
  return session.Run(Ort::RunOptions{nullptr}, names.data(), values.data(), values.size(), outputs.data(),
                     outputs.size());
}

}  // namespace glm_ops::ort_test
