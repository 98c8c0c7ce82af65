// The ops through a real ONNX Runtime session: single-node ONNX models written here, the library
// registered as the runtime registers it. Checks the plumbing the kernel tests cannot: input element types as ORT
// delivers them (float8e4m3fn, bfloat16 through the type-any weight inputs), omitted optional inputs, pools written
// in place in the caller's own buffer, and validation errors surfacing as ORT_INVALID_ARGUMENT. Expected values are
// small enough to work out by hand.
#include <gtest/gtest.h>
#include <onnxruntime_cxx_api.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace {

Ort::Env& Environment() {
  static Ort::Env env(ORT_LOGGING_LEVEL_WARNING, "glm_ops_ort_tests");
  return env;
}

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

Proto ValueInfo(const Port& port) {
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
  std::string name;
  enum Kind { kInt, kFloat, kString } kind;
  float f;
  int64_t i;
  std::string text;
};

Attribute IntAttr(const char* name, int64_t value) { return {name, Attribute::kInt, 0.0f, value, ""}; }
Attribute FloatAttr(const char* name, float value) { return {name, Attribute::kFloat, value, 0, ""}; }
Attribute StringAttr(const char* name, const std::string& value) { return {name, Attribute::kString, 0.0f, 0, value}; }

// A session over one node of our domain. `node_inputs` may contain "" for an omitted optional input.
Ort::Session MakeSession(const std::string& op, const std::vector<Port>& inputs, const std::vector<Port>& outputs,
                         const std::vector<std::string>& node_inputs, const std::vector<Attribute>& attributes) {
  Proto node;
  for (const std::string& name : node_inputs) node.Bytes(1, name);
  for (const Port& p : outputs) node.Bytes(2, p.name);
  node.Bytes(3, op + "_node").Bytes(4, op).Bytes(7, "com.glm.onnx");
  for (const Attribute& a : attributes) {
    Proto attr;
    attr.Bytes(1, a.name);
    if (a.kind == Attribute::kFloat)
      attr.Fixed32(2, a.f).Varint(20, 1);
    else if (a.kind == Attribute::kInt)
      attr.Varint(3, static_cast<uint64_t>(a.i)).Varint(20, 2);
    else
      attr.Bytes(4, a.text).Varint(20, 3);
    node.Message(5, attr);
  }
  Proto graph;
  graph.Message(1, node).Bytes(2, op + "_graph");
  for (const Port& p : inputs) graph.Message(11, ValueInfo(p));
  for (const Port& p : outputs) graph.Message(12, ValueInfo(p));
  Proto onnx_opset, glm_opset;
  onnx_opset.Bytes(1, "").Varint(2, 21);
  glm_opset.Bytes(1, "com.glm.onnx").Varint(2, 1);
  Proto model;
  model.Varint(1, 10).Message(8, onnx_opset).Message(8, glm_opset).Message(7, graph);
  Ort::SessionOptions options;
  options.RegisterCustomOpsLibrary(GLM_OPS_LIBRARY_PATH);
  return Ort::Session(Environment(), model.Data().data(), model.Data().size(), options);
}

template <typename T>
Ort::Value Wrap(std::vector<T>& data, const std::vector<int64_t>& shape,
                ONNXTensorElementDataType type) {
  static Ort::MemoryInfo cpu = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  return Ort::Value::CreateTensor(cpu, data.data(), data.size() * sizeof(T), shape.data(), shape.size(), type);
}

constexpr auto kF = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
constexpr auto kI = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;

std::vector<Ort::Value> RunSession(Ort::Session& session, const std::vector<const char*>& names,
                            std::vector<Ort::Value>& values, const std::vector<const char*>& outputs) {
  return session.Run(Ort::RunOptions{nullptr}, names.data(), values.data(), values.size(), outputs.data(),
                     outputs.size());
}

TEST(OrtSession, LightningIndexerWritesThePoolInPlace) {
  // One sequence, past 1, two new tokens, block size 2, head_dim 4, 1 head; index_topk 4 >= every context, so the
  // selection is all causal positions in order and the check is exact.
  Ort::Session session = MakeSession(
      "LightningIndexer",
      {{"q", kF, {-1, 1, 4}}, {"k", kF, {-1, 4}}, {"w", kF, {-1, 1}}, {"pool", kF, {-1, -1, 4}},
       {"cu", kI, {-1}}, {"past", kI, {-1}}, {"table", kI, {-1, -1}}},
      {{"topk", kI, {-1, 4}}}, {"q", "k", "w", "pool", "cu", "past", "table"}, {IntAttr("index_topk", 4)});
  std::vector<float> q(8, 1.0f), k{1, 2, 3, 4, 5, 6, 7, 8}, w{1.0f, 1.0f};
  std::vector<float> pool(3 * 2 * 4, -1.0f);
  std::vector<int32_t> cu{0, 2}, past{1}, table{2, 0};
  std::vector<Ort::Value> values;
  values.push_back(Wrap(q, {2, 1, 4}, kF));
  values.push_back(Wrap(k, {2, 4}, kF));
  values.push_back(Wrap(w, {2, 1}, kF));
  values.push_back(Wrap(pool, {3, 2, 4}, kF));
  values.push_back(Wrap(cu, {2}, kI));
  values.push_back(Wrap(past, {1}, kI));
  values.push_back(Wrap(table, {1, 2}, kI));
  auto out = RunSession(session, {"q", "k", "w", "pool", "cu", "past", "table"}, values, {"topk"});
  const int32_t* topk = out[0].GetTensorData<int32_t>();
  EXPECT_EQ(std::vector<int32_t>(topk, topk + 8), (std::vector<int32_t>{0, 1, -1, -1, 0, 1, 2, -1}));
  // Position 1 -> block 2 row 1, position 2 -> block 0 row 0: the caller's buffer holds the new keys.
  EXPECT_EQ(std::vector<float>(pool.begin() + 20, pool.begin() + 24), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(std::vector<float>(pool.begin(), pool.begin() + 4), (std::vector<float>{5, 6, 7, 8}));
  EXPECT_EQ(pool[16], -1.0f);  // block 2 row 0 (past position 0) untouched
}

TEST(OrtSession, SparseMlaAttentionWithAndWithoutSelection) {
  // A first token (past 0) attends only to itself, so the output is its own latent exactly.
  for (bool with_selection : {false, true}) {
    std::vector<Port> inputs{{"ql", kF, {-1, 2, 4}}, {"qr", kF, {-1, 2, 2}}, {"kv", kF, {-1, 4}},
                             {"kr", kF, {-1, 2}},    {"pool", kF, {-1, -1, 6}}, {"cu", kI, {-1}},
                             {"past", kI, {-1}},     {"table", kI, {-1, -1}}};
    std::vector<std::string> node_inputs{"ql", "qr", "kv", "kr", "pool", "cu", "past", "table"};
    if (with_selection) {
      inputs.push_back({"sel", kI, {-1, 3}});
      node_inputs.push_back("sel");
    }
    std::vector<Attribute> attrs;
    attrs.push_back(FloatAttr("softmax_scale", 0.125f));
    Ort::Session session = MakeSession("SparseMlaAttention", inputs, {{"o", kF, {-1, 2, 4}}}, node_inputs,
                                       attrs);
    std::vector<float> ql(8, 0.3f), qr(4, -0.2f), kv{1, 2, 3, 4}, kr{5, 6}, pool(2 * 4 * 6, 0.0f);
    std::vector<int32_t> cu{0, 1}, past{0}, table{1}, sel{-1, 3, -1};  // nothing valid selected
    std::vector<Ort::Value> values;
    values.push_back(Wrap(ql, {1, 2, 4}, kF));
    values.push_back(Wrap(qr, {1, 2, 2}, kF));
    values.push_back(Wrap(kv, {1, 4}, kF));
    values.push_back(Wrap(kr, {1, 2}, kF));
    values.push_back(Wrap(pool, {2, 4, 6}, kF));
    values.push_back(Wrap(cu, {2}, kI));
    values.push_back(Wrap(past, {1}, kI));
    values.push_back(Wrap(table, {1, 1}, kI));
    std::vector<const char*> names{"ql", "qr", "kv", "kr", "pool", "cu", "past", "table"};
    if (with_selection) {
      values.push_back(Wrap(sel, {1, 3}, kI));
      names.push_back("sel");
    }
    auto out = RunSession(session, names, values, {"o"});
    const float* o = out[0].GetTensorData<float>();
    const std::vector<float> expected =
        with_selection ? std::vector<float>(8, 0.0f) : std::vector<float>{1, 2, 3, 4, 1, 2, 3, 4};
    EXPECT_EQ(std::vector<float>(o, o + 8), expected) << "with selection: " << with_selection;
    EXPECT_EQ(std::vector<float>(pool.begin() + 24, pool.begin() + 30), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  }
}

TEST(OrtSession, MoeRoutingDefaults) {
  std::vector<Attribute> attrs;
  attrs.push_back(IntAttr("top_k", 1));
  Ort::Session session = MakeSession("MoeRouting", {{"logits", kF, {-1, 3}}, {"bias", kF, {3}}},
                                     {{"ids", kI, {-1, 1}}, {"weights", kF, {-1, 1}}}, {"logits", "bias"},
                                     attrs);
  std::vector<float> logits{0.0f, 2.0f, 1.0f}, bias{0.0f, 0.0f, 5.0f};
  std::vector<Ort::Value> values;
  values.push_back(Wrap(logits, {1, 3}, kF));
  values.push_back(Wrap(bias, {3}, kF));
  auto out = RunSession(session, {"logits", "bias"}, values, {"ids", "weights"});
  EXPECT_EQ(out[0].GetTensorData<int32_t>()[0], 2);             // the bias picks expert 2
  EXPECT_FLOAT_EQ(out[1].GetTensorData<float>()[0], 1.0f);      // one expert, normalised by default
}

// Experts whose every weight is the same value `v`: gate(x) = up(x) = v * sum(x) per row, so each output element
// is v * inter * SiLU(g) * g with g = v * sum(x).
float UniformExpertOutput(float v, int64_t inter, const std::vector<float>& x) {
  float sum = 0;
  for (float e : x) sum += e;
  const float g = v * sum;
  return v * static_cast<float>(inter) * (g / (1.0f + std::exp(-g))) * g;
}

TEST(OrtSession, MoeExpertsAcceptsFloat8AndBFloat16Weights) {
  const int64_t experts = 2, hidden = 16, inter = 8;
  const std::vector<float> x{0.5f, -0.25f, 0.125f, 0.0f, 0.25f, 0.5f, -0.5f, 0.0f,
                             0.0f, 0.125f, 0.0f, 0.25f, 0.0f, 0.0f, 0.0f, 0.0f};
  for (auto wtype : {ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FN, ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16,
                     ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8}) {
    const bool fp8 = wtype != ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16;
    std::vector<Port> inputs{{"x", kF, {-1, hidden}},  {"ids", kI, {-1, 1}},        {"w", kF, {-1, 1}},
                             {"gate", wtype, {experts, inter, hidden}}, {"up", wtype, {experts, inter, hidden}},
                             {"down", wtype, {experts, hidden, inter}}};
    std::vector<std::string> node_inputs{"x", "ids", "w", "gate", "up", "down"};
    if (fp8) {
      inputs.push_back({"gs", kF, {experts, 1, 1}});
      inputs.push_back({"us", kF, {experts, 1, 1}});
      inputs.push_back({"ds", kF, {experts, 1, 1}});
      for (const char* n : {"gs", "us", "ds"}) node_inputs.push_back(n);
    }
    Ort::Session session = MakeSession("MoeExperts", inputs, {{"out", kF, {-1, hidden}}}, node_inputs, {});
    // fp8: code 0x38 = 1.0 times scale 0.5; bf16: 0x3F00 = 0.5. Either way every weight is 0.5.
    std::vector<uint8_t> fp8_weights(static_cast<size_t>(experts * inter * hidden), 0x38);
    std::vector<uint16_t> bf16_weights(fp8_weights.size(), 0x3F00);
    std::vector<float> scales(static_cast<size_t>(experts), 0.5f), xs = x, weight{2.0f};
    std::vector<int32_t> ids{1};
    std::vector<Ort::Value> values;
    values.push_back(Wrap(xs, {1, hidden}, kF));
    values.push_back(Wrap(ids, {1, 1}, kI));
    values.push_back(Wrap(weight, {1, 1}, kF));
    for (const auto& shape : {std::vector<int64_t>{experts, inter, hidden}, std::vector<int64_t>{experts, inter, hidden},
                              std::vector<int64_t>{experts, hidden, inter}})
      values.push_back(fp8 ? Wrap(fp8_weights, shape, wtype) : Wrap(bf16_weights, shape, wtype));
    std::vector<const char*> names{"x", "ids", "w", "gate", "up", "down"};
    if (fp8)
      for (const char* n : {"gs", "us", "ds"}) {
        values.push_back(Wrap(scales, {experts, 1, 1}, kF));
        names.push_back(n);
      }
    auto out = RunSession(session, names, values, {"out"});
    const float expected = 2.0f * UniformExpertOutput(0.5f, inter, x);
    const float* o = out[0].GetTensorData<float>();
    for (int64_t i = 0; i < hidden; ++i) EXPECT_NEAR(o[i], expected, 1e-5f) << "weight type " << wtype;
  }
}

TEST(OrtSession, MoeExpertsAcceptsInt8AndInt4WeightsWithFloat16Scales) {
  // Every weight is 0.5: int8 q = 1, int4 byte 0x99 (q = 1 in both nibbles), float16 scale 0x3800 = 0.5. The int4
  // weights are told apart from FP8 bits by the string attribute weight_format. G = 8 decodes to float exactly; G =
  // 32 takes the integer path, whose int8 activations cost well under 1% here.
  const int64_t experts = 2, hidden = 16, inter = 8;
  const std::vector<float> x{0.5f, -0.25f, 0.125f, 0.0f, 0.25f, 0.5f, -0.5f, 0.0f,
                             0.0f, 0.125f, 0.0f, 0.25f, 0.0f, 0.0f, 0.0f, 0.0f};
  constexpr auto kU8 = ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8, kI8 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8,
                 kF16 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
  for (bool int4 : {false, true})
    for (int64_t g : {8, 32}) {
      const auto wtype = int4 ? kU8 : kI8;
      const int64_t hidden_bytes = int4 ? hidden / 2 : hidden, inter_bytes = int4 ? inter / 2 : inter;
      const int64_t hidden_groups = (hidden + g - 1) / g, inter_groups = (inter + g - 1) / g;
      const std::vector<int64_t> gate_shape{experts, inter, hidden_bytes}, down_shape{experts, hidden, inter_bytes};
      const std::vector<int64_t> gate_scale_shape{experts, inter, hidden_groups},
          down_scale_shape{experts, hidden, inter_groups};
      std::vector<Port> inputs{{"x", kF, {-1, hidden}}, {"ids", kI, {-1, 1}},  {"w", kF, {-1, 1}},
                               {"gate", wtype, gate_shape}, {"up", wtype, gate_shape}, {"down", wtype, down_shape},
                               {"gs", kF16, gate_scale_shape}, {"us", kF16, gate_scale_shape},
                               {"ds", kF16, down_scale_shape}};
      std::vector<Attribute> attributes{IntAttr("quant_block_size", g)};
      if (int4) attributes.push_back(StringAttr("weight_format", "int4"));
      Ort::Session session = MakeSession("MoeExperts", inputs, {{"out", kF, {-1, hidden}}},
                                         {"x", "ids", "w", "gate", "up", "down", "gs", "us", "ds"}, attributes);
      std::vector<uint8_t> gate(static_cast<size_t>(experts * inter * hidden_bytes), int4 ? 0x99 : 0x01);
      std::vector<uint8_t> up = gate, down = gate;
      std::vector<uint16_t> gate_scales(static_cast<size_t>(experts * inter * hidden_groups), 0x3800);
      std::vector<uint16_t> up_scales = gate_scales;
      std::vector<uint16_t> down_scales(static_cast<size_t>(experts * hidden * inter_groups), 0x3800);
      std::vector<float> xs = x, weight{2.0f};
      std::vector<int32_t> ids{1};
      std::vector<Ort::Value> values;
      values.push_back(Wrap(xs, {1, hidden}, kF));
      values.push_back(Wrap(ids, {1, 1}, kI));
      values.push_back(Wrap(weight, {1, 1}, kF));
      values.push_back(Wrap(gate, gate_shape, wtype));
      values.push_back(Wrap(up, gate_shape, wtype));
      values.push_back(Wrap(down, down_shape, wtype));
      values.push_back(Wrap(gate_scales, gate_scale_shape, kF16));
      values.push_back(Wrap(up_scales, gate_scale_shape, kF16));
      values.push_back(Wrap(down_scales, down_scale_shape, kF16));
      auto out = RunSession(session, {"x", "ids", "w", "gate", "up", "down", "gs", "us", "ds"}, values, {"out"});
      const float expected = 2.0f * UniformExpertOutput(0.5f, inter, x);
      const float* o = out[0].GetTensorData<float>();
      for (int64_t i = 0; i < hidden; ++i)
        EXPECT_NEAR(o[i], expected, (g == 8 ? 1e-5f : 1e-2f) * std::abs(expected))
            << (int4 ? "int4" : "int8") << " G " << g;
    }
}

TEST(OrtSession, ValidationErrorsSurfaceAsInvalidArgument) {
  Ort::Session session = MakeSession(
      "MoeExperts",
      {{"x", kF, {-1, 8}}, {"ids", kI, {-1, 1}}, {"w", kF, {-1, 1}},
       {"gate", ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16, {1, 8, 8}},
       {"up", ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16, {1, 8, 8}},
       {"down", ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16, {1, 8, 8}}},
      {{"out", kF, {-1, 8}}}, {"x", "ids", "w", "gate", "up", "down"}, {});
  std::vector<float> x(8, 1.0f), w{1.0f};
  std::vector<int32_t> ids{0};
  std::vector<uint16_t> half(64, 0x3C00);
  std::vector<Ort::Value> values;
  values.push_back(Wrap(x, {1, 8}, kF));
  values.push_back(Wrap(ids, {1, 1}, kI));
  values.push_back(Wrap(w, {1, 1}, kF));
  for (int i = 0; i < 3; ++i) values.push_back(Wrap(half, {1, 8, 8}, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16));
  try {
    RunSession(session, {"x", "ids", "w", "gate", "up", "down"}, values, {"out"});
    ADD_FAILURE() << "expected an error";
  } catch (const Ort::Exception& e) {
    EXPECT_EQ(e.GetOrtErrorCode(), ORT_INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.what()).find("MoeExperts: input 'gate_weights' has an unsupported element type"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
