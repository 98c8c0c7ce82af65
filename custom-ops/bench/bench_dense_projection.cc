// DenseProjection (weights read at their stored width) against ONNX Runtime's Gemm on a float32 copy of the same
// weights and, for int8 / int4, against ONNX Runtime's MatMulNBits (MLAS), all as single-node ONNX Runtime sessions
// on the same intra-op pool, at GLM-5.2 widths (q_a 6144->2048, q_b 2048->16384, kv_a 6144->576, o_proj
// 16384->6144, dense MLP 6144->12288, lm_head 6144->154880 as 16 slices of 9680 rows, one of them timed), the `small`
// preset's (1024-wide, lm_head 1024->16384) and a 64x64 call (`tiny`: the fixed cost of a call).
// Prints median wall and process CPU time per call, weight GB/s (stored bytes / wall) and GFLOP/s, and this program's
// plain read bandwidth for reference. Short calls are repeated inside one timed sample (at least ~2 ms per sample),
// so a microsecond call is not lost in the clock's and the loop's own cost.
//   bench_dense_projection [glm52|small|tiny|all] [repeats] [token counts, comma list: 1,8,512] [float|int|all]
//                          [engine filter: substrings of the engine names separated by '|', e.g. "Dense|NBits8"]
// `int` / `all` add DenseProjection int8 (G 32 and G 128), int4 (G 32 and G 128) and ONNX Runtime's MatMulNBits at the same
// bits and blocks (GB/s counts stored bytes including scales).
// Threads: GLM_OPS_THREADS or one per core, for both engines; spinning off unless GLM_BENCH_SPIN=1 (glm-run's --spin on:
// the workers spin-wait between parallel sections, so a short call does not pay a thread's wake-up).
// GLM_BENCH_CASE=text: only the cases whose name contains it (e.g. "glm52 q_a").
// GLM_BENCH_COLD_MB=N: cold weights, as in a model's decode step (every projection's weights come from memory, not
// from the caches): enough copies of each case's session over distinct weights that together they hold at least N MB
// (256 is 8x this machine's L3), called in turn; the time per call is their total over their number.
// GLM_OPS_LIBRARY=path/libglm_onnx_ops.so times another build of the ops (A/B against a copy of main's build).
#include <onnxruntime_cxx_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "onnx_proto.h"

namespace glm_ops::bench {
namespace {

using ort_test::Attribute;
using ort_test::IntAttr;
using ort_test::Port;

struct Case {
  const char* name;
  int64_t in, out;
  int slices;  // lm_head: the output rows in this many equal sessions (one timed, times their number)
};

int ThreadCount() {
  if (const char* env = std::getenv("GLM_OPS_THREADS")) return std::max(1, std::atoi(env));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

bool Spinning() {
  const char* spin = std::getenv("GLM_BENCH_SPIN");
  return spin && std::string(spin) == "1";
}

// One intra-op pool for every session (the cold cases hold dozens of sessions; a pool each would leave their spinning
// workers competing for the cores), as glm-run's stages share the machine's cores.
Ort::Env& Environment() {
  static Ort::Env env = [] {
    Ort::ThreadingOptions threading;
    threading.SetGlobalIntraOpNumThreads(ThreadCount());
    threading.SetGlobalInterOpNumThreads(1);
    threading.SetGlobalSpinControl(Spinning() ? 1 : 0);
    return Ort::Env(threading, ORT_LOGGING_LEVEL_WARNING, "bench_dense_projection");
  }();
  return env;
}

Ort::SessionOptions Options() {
  Ort::SessionOptions options;
  options.DisablePerSessionThreads();
  // GLM_OPS_LIBRARY: another build of the op library (an A/B against a copy of main's), else this build's.
  const char* library = std::getenv("GLM_OPS_LIBRARY");
  options.RegisterCustomOpsLibrary(library && *library ? library : GLM_OPS_LIBRARY_PATH);
  return options;
}

// int8 / int4: G = 128 / 32 (DenseProjection; ONNX Runtime's MatMulNBits with the same block, accuracy_level 4 =
// int8 activations, as the converter would emit it).
enum class Engine {
  kGemmF32, kDenseF32, kDenseBf16, kDenseFp8, kDenseInt8, kDenseInt8G32, kDenseInt4, kDenseInt4G128, kNBits8, kNBits8G32, kNBits4, kNBits4G128
};
const char* EngineName(Engine e) {
  switch (e) {
    case Engine::kGemmF32: return "Gemm fp32";
    case Engine::kDenseF32: return "Dense fp32";
    case Engine::kDenseBf16: return "Dense bf16";
    case Engine::kDenseFp8: return "Dense fp8";
    case Engine::kDenseInt8: return "Dense int8";
    case Engine::kDenseInt8G32: return "Dense int8g32";
    case Engine::kDenseInt4: return "Dense int4";
    case Engine::kDenseInt4G128: return "Dense int4g128";
    case Engine::kNBits8: return "MatMulNBits8";
    case Engine::kNBits8G32: return "MatMulNBits8g32";
    case Engine::kNBits4: return "MatMulNBits4";
    case Engine::kNBits4G128: return "MatMulNBits4g128";
  }
  return "?";
}
// Stored weight bits per element, scales included.
double ElementBits(Engine e) {
  switch (e) {
    case Engine::kGemmF32: return 32;
    case Engine::kDenseF32: return 32;
    case Engine::kDenseBf16: return 16;
    case Engine::kDenseFp8: return 8;
    case Engine::kDenseInt8: return 8 + 16.0 / 128;
    case Engine::kDenseInt8G32: return 8 + 16.0 / 32;
    case Engine::kDenseInt4: return 4 + 16.0 / 32;
    case Engine::kDenseInt4G128: return 4 + 16.0 / 128;
    case Engine::kNBits8: return 8 + 32.0 / 128;
    case Engine::kNBits8G32: return 8 + 32.0 / 32;
    case Engine::kNBits4: return 4 + 32.0 / 32;
    case Engine::kNBits4G128: return 4 + 32.0 / 128;
  }
  return 0;
}
int64_t GroupOf(Engine e) {
  return e == Engine::kDenseInt4 || e == Engine::kNBits4 || e == Engine::kNBits8G32 || e == Engine::kDenseInt8G32 ? 32
                                                                                                         : 128;
}

// One session over an [out, in] weight slice in the engine's format: the same values in every engine up to its
// precision (fp32 values, their bf16 truncations, e4m3 codes with one scale per 128 x 128 block).
std::unique_ptr<Ort::Session> MakeSession(Engine engine, int64_t in, int64_t out, uint64_t seed) {
  const int64_t count = in * out;
  std::vector<float> values(static_cast<size_t>(count));
  FillUniform(values.data(), count, seed);
  std::vector<Port> inputs{{"x", ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, {-1, in}}};
  std::vector<Port> outputs{{"y", ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, {-1, out}}};
  std::vector<ort_test::Proto> inits, nodes;
  if (engine == Engine::kGemmF32) {
    for (float& v : values) v *= 0.05f;
    inits.push_back(
        ort_test::Initializer("w", ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, {out, in}, values.data(), values.size() * 4));
    nodes.push_back(ort_test::Node("Gemm", "", {"x", "w"}, {"y"}, {IntAttr("transB", 1)}));
  } else if (engine == Engine::kDenseF32) {
    for (float& v : values) v *= 0.05f;
    inits.push_back(
        ort_test::Initializer("w", ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, {out, in}, values.data(), values.size() * 4));
    nodes.push_back(ort_test::Node("DenseProjection", "com.glm.onnx", {"x", "w"}, {"y"}, {}));
  } else if (engine == Engine::kDenseBf16) {
    std::vector<uint16_t> bits(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      uint32_t b;
      const float v = values[i] * 0.05f;
      std::memcpy(&b, &v, 4);
      bits[i] = static_cast<uint16_t>(b >> 16);
    }
    std::vector<float>().swap(values);
    inits.push_back(
        ort_test::Initializer("w", ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16, {out, in}, bits.data(), bits.size() * 2));
    nodes.push_back(ort_test::Node("DenseProjection", "com.glm.onnx", {"x", "w"}, {"y"}, {}));
  } else if (engine == Engine::kDenseInt8 || engine == Engine::kDenseInt8G32 || engine == Engine::kDenseInt4 ||
             engine == Engine::kDenseInt4G128) {
    // Random q and one float16 scale (2^-9 + a spread) per row and group: only the bytes' count and layout matter.
    const bool int4 = engine == Engine::kDenseInt4 || engine == Engine::kDenseInt4G128;
    const int64_t g = GroupOf(engine), groups = (in + g - 1) / g, row_bytes = int4 ? (in + 1) / 2 : in;
    std::vector<uint8_t> q(static_cast<size_t>(out * row_bytes));
    for (size_t i = 0; i < q.size(); ++i)
      q[i] = int4 ? static_cast<uint8_t>((values[i] + 1.0f) * 127.99f)
                  : static_cast<uint8_t>(static_cast<int8_t>(values[i] * 127.0f));
    std::vector<uint16_t> scales(static_cast<size_t>(out * groups));
    for (size_t i = 0; i < scales.size(); ++i) scales[i] = static_cast<uint16_t>(0x1800 | (i * 37 % 1024));
    std::vector<float>().swap(values);
    inits.push_back(
        ort_test::Initializer("w", int4 ? ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8 : ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8,
                              {out, row_bytes}, q.data(), q.size()));
    inits.push_back(ort_test::Initializer("s", ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16, {out, groups}, scales.data(),
                                          scales.size() * 2));
    std::vector<Attribute> attributes{IntAttr("quant_block_size", g)};
    if (int4) attributes.push_back(ort_test::StringAttr("weight_format", "int4"));
    nodes.push_back(ort_test::Node("DenseProjection", "com.glm.onnx", {"x", "w", "s"}, {"y"}, attributes));
  } else if (engine == Engine::kNBits8 || engine == Engine::kNBits8G32 || engine == Engine::kNBits4 ||
             engine == Engine::kNBits4G128) {
    // ONNX Runtime's MatMulNBits layout: B uint8 [N, K/block, block * bits / 8], float scales [N * K/block], default
    // zero points; accuracy_level 4 quantizes the activations to int8 (its fastest CPU path).
    const int64_t bits = engine == Engine::kNBits8 || engine == Engine::kNBits8G32 ? 8 : 4, g = GroupOf(engine);
    const int64_t blocks = (in + g - 1) / g;
    const int64_t blob = g * bits / 8;
    std::vector<uint8_t> b(static_cast<size_t>(out * blocks * blob));
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>((values[i % values.size()] + 1.0f) * 127.99f);
    std::vector<float>().swap(values);
    std::vector<float> scales(static_cast<size_t>(out * blocks), 0.01f);
    inits.push_back(
        ort_test::Initializer("w", ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8, {out, blocks, blob}, b.data(), b.size()));
    inits.push_back(ort_test::Initializer("s", ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, {out * blocks}, scales.data(),
                                          scales.size() * 4));
    nodes.push_back(ort_test::Node("MatMulNBits", "com.microsoft", {"x", "w", "s"}, {"y"},
                                   {IntAttr("K", in), IntAttr("N", out), IntAttr("bits", bits),
                                    IntAttr("block_size", g), IntAttr("accuracy_level", 4)}));
  } else {
    std::vector<uint8_t> codes(values.size());
    for (size_t i = 0; i < values.size(); ++i)  // exponent field <= 7: |value| < 2, no NaN codes
      codes[i] = static_cast<uint8_t>(static_cast<int>(std::fabs(values[i]) * 63.99f) | (values[i] < 0 ? 0x80 : 0));
    std::vector<float>().swap(values);
    const int64_t sr = (out + 127) / 128, sc = (in + 127) / 128;
    std::vector<float> scales(static_cast<size_t>(sr * sc), 0.03f);
    inits.push_back(
        ort_test::Initializer("w", ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT8E4M3FN, {out, in}, codes.data(), codes.size()));
    inits.push_back(
        ort_test::Initializer("s", ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, {sr, sc}, scales.data(), scales.size() * 4));
    nodes.push_back(ort_test::Node("DenseProjection", "com.glm.onnx", {"x", "w", "s"}, {"y"}, {}));
  }
  const std::string model = ort_test::Model(nodes, inputs, outputs, inits);
  inits.clear();
  return std::make_unique<Ort::Session>(Environment(), model.data(), model.size(), Options());
}

void RunCase(const Case& c, Engine engine, const std::vector<int64_t>& token_counts, int repeats) {
  // lm_head: one of its equal slices is timed and the time multiplied by their number (the slices are the same shape;
  // holding all four float32 slices at once would take 3.8 GB).
  const int64_t rows = c.out / c.slices;
  const double bytes = static_cast<double>(c.in) * static_cast<double>(c.out) * ElementBits(engine) / 8;
  const char* cold = std::getenv("GLM_BENCH_COLD_MB");
  const double cold_bytes = cold ? std::atof(cold) * 1e6 : 0;
  const int copies = static_cast<int>(std::clamp(std::ceil(cold_bytes * c.slices / bytes), 1.0, 256.0));
  std::vector<std::unique_ptr<Ort::Session>> sessions;
  for (int i = 0; i < copies; ++i) sessions.push_back(MakeSession(engine, c.in, rows, 100 + static_cast<uint64_t>(i)));
  static Ort::MemoryInfo cpu = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  for (int64_t tokens : token_counts) {
    std::vector<float> x(static_cast<size_t>(tokens * c.in));
    FillUniform(x.data(), static_cast<int64_t>(x.size()), 7);
    std::vector<float> y(static_cast<size_t>(tokens * rows));
    const std::vector<int64_t> xs{tokens, c.in}, ys{tokens, rows};
    Ort::Value xv = Ort::Value::CreateTensor<float>(cpu, x.data(), x.size(), xs.data(), xs.size());
    Ort::Value yv = Ort::Value::CreateTensor<float>(cpu, y.data(), y.size(), ys.data(), ys.size());
    const char* in_names[] = {"x"};
    const char* out_names[] = {"y"};
    auto run = [&] {
      for (auto& session : sessions) session->Run(Ort::RunOptions{nullptr}, in_names, &xv, 1, out_names, &yv, 1);
    };
    // Calls per timed sample: enough for ~2 ms, so that a microsecond call is measured over many.
    run();
    const auto probe = std::chrono::steady_clock::now();
    run();
    const double once = std::chrono::duration<double>(std::chrono::steady_clock::now() - probe).count();
    const int inner = static_cast<int>(std::clamp(2e-3 / std::max(once, 1e-7), 1.0, 2000.0));
    Timing t = Measure(repeats, [&] {
      for (int i = 0; i < inner; ++i) run();
    });
    t.wall *= static_cast<double>(c.slices) / (inner * copies);
    t.cpu *= static_cast<double>(c.slices) / (inner * copies);
    const double flops = 2.0 * static_cast<double>(tokens) * static_cast<double>(c.in) * static_cast<double>(c.out);
    std::printf("%-30s %-16s T=%-4lld wall %10.4f ms  cpu %10.4f ms  weights %6.1f GB/s (%5.1f per CPU-s)  %7.1f "
                "GFLOP/s%s\n",
                c.name, EngineName(engine), static_cast<long long>(tokens), t.wall * 1e3, t.cpu * 1e3,
                bytes / t.wall * 1e-9, bytes / t.cpu * 1e-9, flops / t.wall * 1e-9, copies > 1 ? "  cold" : "");
    std::fflush(stdout);
  }
}

// Whether `name` contains one of the '|'-separated parts of `filter` (an empty filter takes every engine).
bool Matches(const std::string& name, const std::string& filter) {
  if (filter.empty()) return true;
  std::stringstream stream(filter);
  std::string part;
  while (std::getline(stream, part, '|'))
    if (!part.empty() && name.find(part) != std::string::npos) return true;
  return false;
}

std::vector<int64_t> ParseCounts(const char* text) {
  std::vector<int64_t> counts;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) counts.push_back(std::atoll(item.c_str()));
  return counts;
}

}  // namespace
}  // namespace glm_ops::bench

int main(int argc, char** argv) {
  using namespace glm_ops::bench;
  const std::string preset = argc > 1 ? argv[1] : "all";
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
  const std::vector<int64_t> counts = ParseCounts(argc > 3 ? argv[3] : "1,8,512");
  std::vector<Engine> engines;
  const std::string which = argc > 4 ? argv[4] : "float";  // float: Gemm fp32, Dense fp32, bf16, fp8; int: + int8/int4 engines
  for (Engine e : {Engine::kGemmF32, Engine::kDenseF32, Engine::kDenseBf16, Engine::kDenseFp8}) engines.push_back(e);
  if (which == "int" || which == "all")
    for (Engine e : {Engine::kDenseInt8G32, Engine::kNBits8G32, Engine::kDenseInt8, Engine::kNBits8, Engine::kDenseInt4,
                     Engine::kNBits4,
                     Engine::kDenseInt4G128, Engine::kNBits4G128})
      engines.push_back(e);
  const std::string filter = argc > 5 ? argv[5] : "";
  std::printf("bench_dense_projection: threads %d, repeats %d (medians)\n", ThreadCount(), repeats);
  const Rate read = MeasureReadBandwidth(int64_t{1} << 30, 5);
  std::printf("plain read bandwidth (this program's AVX2 probe, 1 GiB): %.1f GB/s wall\n", read.wall * 1e-9);
  std::vector<Case> cases;
  if (preset == "glm52" || preset == "all")
    for (const Case& c :
         {Case{"glm52 q_a 6144->2048", 6144, 2048, 1}, Case{"glm52 q_b 2048->16384", 2048, 16384, 1},
          Case{"glm52 kv_a 6144->576", 6144, 576, 1}, Case{"glm52 o_proj 16384->6144", 16384, 6144, 1},
          Case{"glm52 mlp gate 6144->12288", 6144, 12288, 1}, Case{"glm52 mlp gate_up 6144->24576", 6144, 24576, 1},
          Case{"glm52 lm_head 6144->154880/16", 6144, 154880, 16}})
      cases.push_back(c);
  if (preset == "small" || preset == "all")
    for (const Case& c :
         {Case{"small q_a 1024->384", 1024, 384, 1}, Case{"small q_b 384->1536", 384, 1536, 1},
          Case{"small kv_a 1024->288", 1024, 288, 1}, Case{"small o_proj 1024->1024", 1024, 1024, 1},
          Case{"small qkv_a fused 1024->768", 1024, 768, 1}, Case{"small mlp gate 1024->2816", 1024, 2816, 1},
          Case{"small mlp gate_up 1024->5632", 1024, 5632, 1}, Case{"small mlp down 2816->1024", 2816, 1024, 1},
          Case{"small lm_head 1024->16384", 1024, 16384, 1}})
      cases.push_back(c);
  if (preset == "tiny" || preset == "all") cases.push_back(Case{"tiny 64->64 (fixed cost)", 64, 64, 1});
  const char* case_filter = std::getenv("GLM_BENCH_CASE");  // substring of the case names, e.g. "q_a"
  for (const Case& c : cases) {
    if (case_filter && std::string(c.name).find(case_filter) == std::string::npos) continue;
    // lm_head runs on the last token of each sequence only: no prefill-length call.
    std::vector<int64_t> case_counts;
    for (int64_t t : counts)
      if (c.slices == 1 || t <= 8) case_counts.push_back(t);
    for (Engine e : engines)
      if (Matches(EngineName(e), filter)) RunCase(c, e, case_counts, repeats);
  }
  return 0;
}
