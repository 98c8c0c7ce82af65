// A minimal protobuf writer for the few ONNX messages a small model needs (field numbers from onnx.proto): value
// infos, nodes with int / float / string attributes, initializers with raw data, and the model around one graph.
// Used by the ORT-level tests (tests/ort) and the op benchmark against ONNX Runtime's Gemm (bench/).
#pragma once

#include <onnxruntime_c_api.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace glm_ops::ort_test {

struct Port {
  std::string name;
  ONNXTensorElementDataType type;
  std::vector<int64_t> shape;  // -1 = dynamic
};

// A minimal protobuf writer for the few ONNX messages a single-node model needs (field numbers from onnx.proto).
class Proto {
 public:
  Proto& Varint(int field, uint64_t value) {
    Key(field, 0);
    Raw(value);
    return *this;
  }
  Proto& Bytes(int field, const std::string& bytes) {
    Key(field, 2);
    Raw(bytes.size());
    data_ += bytes;
    return *this;
  }
  Proto& Message(int field, const Proto& message) { return Bytes(field, message.data_); }
  Proto& Fixed32(int field, float value) {
    Key(field, 5);
    char bytes[4];
    std::memcpy(bytes, &value, 4);
    data_.append(bytes, 4);
    return *this;
  }
  const std::string& Data() const { return data_; }

 private:
  void Key(int field, int wire) { Raw(static_cast<uint64_t>(field) << 3 | static_cast<uint64_t>(wire)); }
  void Raw(uint64_t value) {
    do {
      const uint8_t low = value & 0x7F;
      value >>= 7;
      data_.push_back(static_cast<char>(value ? (low | 0x80) : low));
    } while (value);
  }
  std::string data_;
};

inline Proto ValueInfo(const Port& port) {
  Proto shape;
  for (size_t i = 0; i < port.shape.size(); ++i) {
    Proto dim;
    if (port.shape[i] >= 0)
      dim.Varint(1, static_cast<uint64_t>(port.shape[i]));
    else
      dim.Bytes(2, port.name + "_d" + std::to_string(i));
    shape.Message(1, dim);
  }
  Proto tensor;
  tensor.Varint(1, static_cast<uint64_t>(port.type)).Message(2, shape);
  Proto type;
  type.Message(1, tensor);
  Proto info;
  info.Bytes(1, port.name).Message(2, type);
  return info;
}

struct Attribute {
  enum class Kind { kInt, kFloat, kString };
  std::string name;
  Kind kind;
  float f = 0.0f;
  int64_t i = 0;
  std::string s;
};

inline Attribute IntAttr(const char* name, int64_t value) { return {name, Attribute::Kind::kInt, 0.0f, value, {}}; }
inline Attribute FloatAttr(const char* name, float value) { return {name, Attribute::Kind::kFloat, value, 0, {}}; }
inline Attribute StringAttr(const char* name, std::string value) {
  return {name, Attribute::Kind::kString, 0.0f, 0, std::move(value)};
}

// One node; `domain` "" is the ONNX domain. `inputs` may contain "" for an omitted optional input.
inline Proto Node(const std::string& op, const std::string& domain, const std::vector<std::string>& inputs,
                  const std::vector<std::string>& outputs, const std::vector<Attribute>& attributes) {
  Proto node;
  for (const std::string& name : inputs) node.Bytes(1, name);
  for (const std::string& name : outputs) node.Bytes(2, name);
  node.Bytes(3, op + "_node").Bytes(4, op).Bytes(7, domain);
  for (const Attribute& a : attributes) {
    Proto attr;
    attr.Bytes(1, a.name);
    if (a.kind == Attribute::Kind::kFloat)
      attr.Fixed32(2, a.f).Varint(20, 1);
    else if (a.kind == Attribute::Kind::kInt)
      attr.Varint(3, static_cast<uint64_t>(a.i)).Varint(20, 2);
    else
      attr.Bytes(4, a.s).Varint(20, 3);
    node.Message(5, attr);
  }
  return node;
}

// A constant tensor with its bytes inline (raw_data): under 2 GB, the protobuf limit.
inline Proto Initializer(const std::string& name, ONNXTensorElementDataType type, const std::vector<int64_t>& dims,
                         const void* data, size_t bytes) {
  Proto tensor;
  for (int64_t d : dims) tensor.Varint(1, static_cast<uint64_t>(d));
  tensor.Varint(2, static_cast<uint64_t>(type)).Bytes(8, name);
  tensor.Bytes(9, std::string(static_cast<const char*>(data), bytes));
  return tensor;
}

// The serialized model: one graph of `nodes` over opsets ONNX 21, com.glm.onnx 1 and com.microsoft 1 (ONNX
// Runtime's contrib ops, e.g. MatMulNBits in the op benchmark).
inline std::string Model(const std::vector<Proto>& nodes, const std::vector<Port>& inputs,
                         const std::vector<Port>& outputs, const std::vector<Proto>& initializers = {}) {
  Proto graph;
  for (const Proto& node : nodes) graph.Message(1, node);
  graph.Bytes(2, "graph");
  for (const Proto& init : initializers) graph.Message(5, init);
  for (const Port& p : inputs) graph.Message(11, ValueInfo(p));
  for (const Port& p : outputs) graph.Message(12, ValueInfo(p));
  Proto onnx_opset, glm_opset, ms_opset;
  onnx_opset.Bytes(1, "").Varint(2, 21);
  glm_opset.Bytes(1, "com.glm.onnx").Varint(2, 1);
  ms_opset.Bytes(1, "com.microsoft").Varint(2, 1);
  Proto model;
  model.Varint(1, 10).Message(8, onnx_opset).Message(8, glm_opset).Message(8, ms_opset).Message(7, graph);
  return model.Data();
}

}  // namespace glm_ops::ort_test
