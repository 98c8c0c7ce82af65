// DenseProjection through a real ONNX Runtime session: bfloat16, float8e4m3fn, uint8 (e4m3 bits), int8 and int4
// (uint8 with weight_format "int4") weights reach the registered op through its type-any weight and scale inputs,
// with and without the optional scales, on both CPU paths
// (2 tokens: row projection; 64 tokens: blocked GEMM); bad inputs and attributes surface as ORT_INVALID_ARGUMENT.
// Every weight of row n is (n + 1) / 2, so output[t, n] = (n + 1) / 2 * sum(input[t]) exactly.
#include <gtest/gtest.h>
#include <onnxruntime_cxx_api.h>

#include <string>
#include <vector>

#include "ort_session_support.h"

namespace {

using namespace glm_ops::ort_test;

constexpr int64_t kIn = 16, kOut = 3;
constexpr auto kBf16 = ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16;
constexpr auto kFp8 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FN;
constexpr auto kU8 = ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;

std::vector<float> Input(int64_t tokens) {
  std::vector<float> x(static_cast<size_t>(tokens * kIn));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(static_cast<int>(i % 7) - 3) * 0.25f;
  return x;
}

void ExpectRowMultiples(const Ort::Value& out, const std::vector<float>& x, int64_t tokens) {
  const float* y = out.GetTensorData<float>();
  EXPECT_EQ(out.GetTensorTypeAndShapeInfo().GetShape(), (std::vector<int64_t>{tokens, kOut}));
  for (int64_t t = 0; t < tokens; ++t) {
    float sum = 0;
    for (int64_t k = 0; k < kIn; ++k) sum += x[t * kIn + k];
    for (int64_t n = 0; n < kOut; ++n)
      EXPECT_FLOAT_EQ(y[t * kOut + n], 0.5f * static_cast<float>(n + 1) * sum) << "token " << t << " row " << n;
  }
}

TEST(OrtSession, DenseProjectionReadsBFloat16Weights) {
  Ort::Session session = MakeSession("DenseProjection", {{"x", kF, {-1, kIn}}, {"w", kBf16, {kOut, kIn}}},
                                     {{"y", kF, {-1, kOut}}}, {"x", "w"}, {});
  // bf16 0.5, 1.0, 1.5
  std::vector<uint16_t> w;
  for (uint16_t bits : {uint16_t{0x3F00}, uint16_t{0x3F80}, uint16_t{0x3FC0}}) w.insert(w.end(), kIn, bits);
  for (int64_t tokens : {2, 64}) {
    std::vector<float> x = Input(tokens);
    std::vector<Ort::Value> values;
    values.push_back(Wrap(x, {tokens, kIn}, kF));
    values.push_back(Wrap(w, {kOut, kIn}, kBf16));
    auto out = RunSession(session, {"x", "w"}, values, {"y"});
    ExpectRowMultiples(out[0], x, tokens);
  }
}

TEST(OrtSession, DenseProjectionReadsBlockFp8Weights) {
  // e4m3 codes 0x30 = 0.5, 0x38 = 1.0, 0x3C = 1.5, times one block scale 1.0 (quant_block_size 16 covers all).
  std::vector<uint8_t> w;
  for (uint8_t bits : {uint8_t{0x30}, uint8_t{0x38}, uint8_t{0x3C}}) w.insert(w.end(), kIn, bits);
  for (auto type : {kFp8, kU8}) {
    Ort::Session session =
        MakeSession("DenseProjection", {{"x", kF, {-1, kIn}}, {"w", type, {kOut, kIn}}, {"s", kF, {1, 1}}},
                    {{"y", kF, {-1, kOut}}}, {"x", "w", "s"}, {IntAttr("quant_block_size", 16)});
    std::vector<float> scales{1.0f};
    for (int64_t tokens : {2, 64}) {
      std::vector<float> x = Input(tokens);
      std::vector<Ort::Value> values;
      values.push_back(Wrap(x, {tokens, kIn}, kF));
      values.push_back(Wrap(w, {kOut, kIn}, type));
      values.push_back(Wrap(scales, {1, 1}, kF));
      auto out = RunSession(session, {"x", "w", "s"}, values, {"y"});
      ExpectRowMultiples(out[0], x, tokens);
    }
  }
}

TEST(OrtSession, DenseProjectionReadsInt8AndInt4Weights) {
  // q = 1, 2, 3 per row times one float16 scale 0.5 (0x3800) per row; groups of 16 columns (one per row), which is
  // not a multiple of 32, so even 2 tokens multiply exactly (no int8 activations).
  constexpr auto kI8 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8;
  constexpr auto kF16 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16;
  std::vector<int8_t> w8;
  std::vector<uint8_t> w4;
  for (int q = 1; q <= 3; ++q) {
    w8.insert(w8.end(), kIn, static_cast<int8_t>(q));
    w4.insert(w4.end(), kIn / 2, static_cast<uint8_t>((q + 8) | (q + 8) << 4));  // both nibbles q + 8
  }
  std::vector<uint16_t> scales(kOut, 0x3800);
  for (bool int4 : {false, true}) {
    const int64_t cols = int4 ? kIn / 2 : kIn;
    std::vector<Attribute> attributes{IntAttr("quant_block_size", 16)};
    if (int4) attributes.push_back(StringAttr("weight_format", "int4"));
    Ort::Session session = MakeSession(
        "DenseProjection", {{"x", kF, {-1, kIn}}, {"w", int4 ? kU8 : kI8, {kOut, cols}}, {"s", kF16, {kOut, 1}}},
        {{"y", kF, {-1, kOut}}}, {"x", "w", "s"}, attributes);
    for (int64_t tokens : {2, 64}) {
      std::vector<float> x = Input(tokens);
      std::vector<Ort::Value> values;
      values.push_back(Wrap(x, {tokens, kIn}, kF));
      values.push_back(int4 ? Wrap(w4, {kOut, cols}, kU8) : Wrap(w8, {kOut, cols}, kI8));
      values.push_back(Wrap(scales, {kOut, 1}, kF16));
      auto out = RunSession(session, {"x", "w", "s"}, values, {"y"});
      ExpectRowMultiples(out[0], x, tokens);
    }
  }
}

TEST(OrtSession, DenseProjectionErrorsSurfaceAsInvalidArgument) {
  // FP8 weights without their scales.
  Ort::Session session = MakeSession("DenseProjection", {{"x", kF, {-1, kIn}}, {"w", kFp8, {kOut, kIn}}},
                                     {{"y", kF, {-1, kOut}}}, {"x", "w"}, {});
  std::vector<float> x = Input(1);
  std::vector<uint8_t> w(static_cast<size_t>(kOut * kIn), 0x38);
  std::vector<Ort::Value> values;
  values.push_back(Wrap(x, {1, kIn}, kF));
  values.push_back(Wrap(w, {kOut, kIn}, kFp8));
  try {
    RunSession(session, {"x", "w"}, values, {"y"});
    ADD_FAILURE() << "expected an error";
  } catch (const Ort::Exception& e) {
    EXPECT_EQ(e.GetOrtErrorCode(), ORT_INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.what()).find("DenseProjection: input 'scales' is missing"), std::string::npos) << e.what();
  }
  // A weight_format this build does not decode: refused when the session creates the kernel.
  try {
    MakeSession("DenseProjection", {{"x", kF, {-1, kIn}}, {"w", kU8, {kOut, kIn / 2}}}, {{"y", kF, {-1, kOut}}},
                {"x", "w"}, {StringAttr("weight_format", "int5")});
    ADD_FAILURE() << "expected an error";
  } catch (const Ort::Exception& e) {
    EXPECT_NE(std::string(e.what()).find("DenseProjection: attribute 'weight_format'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("\"int5\""), std::string::npos) << e.what();
  }
}

}  // namespace
