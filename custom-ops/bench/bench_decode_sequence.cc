// A decode step's weight stream without ONNX Runtime: DenseProjection's int8 / int4 one-token kernels over the
// projections one `small`-preset step runs (per MoE layer: the fused q_a / kv_a / indexer input projection, q_b,
// o_proj, the shared expert's gate_up and down, four routed experts' gate_up and down; then lm_head; left out: the
// dense first layer, the indexer's query projection and the grouped bf16 W_UK / W_UV), each call's
// rows split across a pool of spinning threads (bench_pool.h) as the runtime's are, against a plain read of the same
// bytes (each row range's weights, then its float16 scales) with the same split. Enough copies of the step that
// together they hold GLM_BENCH_COLD_MB megabytes (default 512: past this workplace's hosts' last-level caches, so every
// call reads its weights from memory; a size under the L3 shows the cache-resident rate instead). The ratio kernel /
// read is how close the kernels come to what the memory system gives these threads at these call sizes; what the step
// adds on top (ONNX Runtime's own nodes, the pool's sections) is left out on purpose (docs/benchmarks.md, "Where a
// `small` int8 decode step goes").
//   bench_decode_sequence [int8|int4] [repeats]      threads: GLM_OPS_THREADS or one per core
#include <immintrin.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_pool.h"
#include "bench_util.h"
#include "cpu/dense_projection.h"

namespace glm_ops::bench {
namespace {

struct Projection {
  DenseProjectionShape shape;
  std::vector<uint8_t> weight;
  std::vector<uint16_t> scales;  // float16 bits
};

// The `small` preset's plain (one-group) projections of one decode step: {in, out} per call, in step order.
std::vector<std::pair<int64_t, int64_t>> StepShapes() {
  std::vector<std::pair<int64_t, int64_t>> shapes;
  for (int layer = 0; layer < 11; ++layer) {
    shapes.insert(shapes.end(), {{1024, 672}, {384, 1536}, {1024, 1024}, {1024, 768}, {384, 1024}});
    for (int expert = 0; expert < 4; ++expert) shapes.push_back({1024, 768});
    for (int expert = 0; expert < 4; ++expert) shapes.push_back({384, 1024});
  }
  shapes.push_back({1024, 16384});
  return shapes;
}

// Sums 32-byte loads over [p, p + n) with the kernels' prefetch lead (8 KiB, the first-level hint).
float PlainRead(const uint8_t* p, int64_t n) {
  __m256 a = _mm256_setzero_ps(), b = a;
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    _mm_prefetch(reinterpret_cast<const char*>(p + i + 8192), _MM_HINT_T0);
    a = _mm256_add_ps(a, _mm256_castsi256_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i))));
    b = _mm256_add_ps(b, _mm256_castsi256_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32))));
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, _mm256_add_ps(a, b));
  return lanes[0];
}

int Main(int argc, char** argv) {
  const std::string format = argc > 1 ? argv[1] : "int8";
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 7;
  if ((format != "int8" && format != "int4") || repeats < 1) {
    std::fprintf(stderr, "usage: bench_decode_sequence [int8|int4] [repeats >= 1]\n");
    return 2;
  }
  const int threads = Threads().Threads();  // GLM_OPS_THREADS or one per core (bench_util.h)
  PooledThreads pool(threads);
  const char* cold_mb = std::getenv("GLM_BENCH_COLD_MB");
  const double cold_bytes = (cold_mb ? std::atof(cold_mb) : 512.0) * 1e6;
  if (cold_bytes <= 0) {
    std::fprintf(stderr, "bench_decode_sequence: GLM_BENCH_COLD_MB must be a positive number of megabytes\n");
    return 2;
  }
  const std::vector<std::pair<int64_t, int64_t>> shapes = StepShapes();
  std::vector<Projection> calls;
  double step_bytes = 0, total = 0;
  uint32_t state = 1;
  while (total < cold_bytes) {
    for (const auto& [in, out] : shapes) {
      Projection p;
      p.shape.tokens = 1;
      p.shape.in = in;
      p.shape.out = out;
      p.shape.quant_block_size = 32;
      p.shape.format = format == "int4" ? ExpertWeightFormat::kInt4 : ExpertWeightFormat::kInt8;
      p.weight.resize(static_cast<size_t>(out * p.shape.RowBytes()));
      for (uint8_t& byte : p.weight) byte = static_cast<uint8_t>((state = state * 1664525u + 1013904223u) >> 24);
      p.scales.assign(static_cast<size_t>(out * p.shape.ScaleCols()), 0x2000);  // float16 2^-7
      const double bytes = static_cast<double>(p.weight.size() + 2 * p.scales.size());
      total += bytes;
      if (calls.size() < shapes.size()) step_bytes += bytes;
      calls.push_back(std::move(p));
    }
  }
  std::vector<float> x(16384), y(16384);
  FillUniform(x.data(), static_cast<int64_t>(x.size()), 3);
  const std::vector<Timing> t = MeasureAlternating(repeats, 2, [&](size_t variant) {
    for (const Projection& p : calls) {
      if (variant == 0) {
        cpu::DenseProjection(pool, p.shape, x.data(), DenseWeight{p.weight.data(), p.scales.data()}, y.data());
        continue;
      }
      const int64_t row_bytes = p.shape.RowBytes();
      pool.For(p.shape.out, [&](int64_t r0, int64_t r1) {
        static thread_local volatile float keep;
        const int64_t scale_bytes = p.shape.ScaleCols() * static_cast<int64_t>(sizeof(uint16_t));
        keep = PlainRead(p.weight.data() + r0 * row_bytes, (r1 - r0) * row_bytes) +
               PlainRead(reinterpret_cast<const uint8_t*>(p.scales.data()) + r0 * scale_bytes, (r1 - r0) * scale_bytes);
      }, 24);
    }
  });
  const double n = static_cast<double>(calls.size());
  std::printf("bench_decode_sequence %s: threads %d, %zu calls per step (%.1f MB of weights), %.0f steps' copies "
              "(%.0f MB), medians of %d alternations\n",
              format.c_str(), threads, shapes.size(), step_bytes / 1e6, n / shapes.size(), total / 1e6,
              repeats);
  const char* names[] = {"DenseProjection", "plain read"};
  for (int v = 0; v < 2; ++v)
    std::printf("  %-16s %6.1f GB/s (%5.1f per CPU-s)  %6.1f us per call  %6.2f ms per step\n", names[v],
                total / t[v].wall * 1e-9, total / t[v].cpu * 1e-9, t[v].wall / n * 1e6,
                t[v].wall / n * shapes.size() * 1e3);
  std::printf("  kernel / read: %.2f\n", t[1].wall / t[0].wall);
  return 0;
}

}  // namespace
}  // namespace glm_ops::bench

int main(int argc, char** argv) { return glm_ops::bench::Main(argc, argv); }
