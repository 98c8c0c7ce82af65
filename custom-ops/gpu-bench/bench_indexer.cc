// Lightning indexer decode at GLM-5.2 widths (32 heads x 128, top-2048), bf16 keys, batch 1 from 4K to 1M
// contexts and batch 8 at 128K, with rope tables (the stage graphs pass them: q and k arrive unrotated and the op
// rotates the first 64 dims, one extra small launch). Bytes = every cached key of every sequence (read once) +
// outputs.
#include <string>
#include <vector>

#include "bench_cases.h"
#include "bench_paged.h"
#include "cuda/lightning_indexer_cuda.h"
#include "device_buffer.h"
#include "fill.h"

namespace glm_ops::gpu {

void BenchIndexer(const BenchOptions& options, BenchReport& report) {
  constexpr int64_t kHeads = 32, kDim = 128, kRotary = 64, kTopK = 2048, kBlock = 64;
  struct Case {
    int64_t batch, context;
  };
  std::vector<Case> cases;
  if (options.quick) {
    cases = {{1, 131072}};
  } else {
    for (int64_t context : {4096, 16384, 65536, 131072, 262144, 1048576}) cases.push_back({1, context});
    cases.push_back({8, 131072});
  }
  for (const Case& c : cases) {
    DecodeBatch decode(c.batch, c.context, kBlock);
    DeviceBuffer pool(decode.PoolRows() * kDim * 2);
    FillUniformBf16(pool.get(), decode.PoolRows() * kDim, 21, -1.f, 1.f, nullptr);
    DeviceBuffer q(c.batch * kHeads * kDim * 2), k(c.batch * kDim * 2), w(c.batch * kHeads * 2);
    DeviceBuffer out(c.batch * kTopK * 4);
    FillUniformBf16(q.get(), c.batch * kHeads * kDim, 22, -1.f, 1.f, nullptr);
    FillUniformBf16(k.get(), c.batch * kDim, 23, -1.f, 1.f, nullptr);
    FillUniformBf16(w.get(), c.batch * kHeads, 24, -0.5f, 1.f, nullptr);
    DeviceBuffer rope_cos(c.batch * kRotary / 2 * 4), rope_sin(c.batch * kRotary / 2 * 4);
    FillUniformF32(rope_cos.as<float>(), c.batch * kRotary / 2, 25, -1.f, 1.f, nullptr);
    FillUniformF32(rope_sin.as<float>(), c.batch * kRotary / 2, 26, -1.f, 1.f, nullptr);
    LightningIndexerShape shape;
    shape.tokens = c.batch;
    shape.n_heads = kHeads;
    shape.head_dim = kDim;
    shape.index_topk = kTopK;
    shape.scale = 1.0f / 11.313708f;
    shape.rotary_dim = kRotary;
    shape.batch = decode.batch;
    DeviceBuffer workspace(cuda::LightningIndexerWorkspaceBytes(shape));
    auto call = [&] {
      cuda::LightningIndexer(shape, cuda::Activation::kBFloat16, q.get(), k.get(), w.get(),
                             RopeTables{rope_cos.as<float>(), rope_sin.as<float>()}, pool.get(), out.as<int32_t>(),
                             workspace.get(), workspace.bytes(), nullptr);
    };
    const Timing timing = TimeCalls(call, options.iterations);
    const double bytes = c.batch * ((c.context + 1) * kDim * 2.0 + kTopK * 4.0);
    const std::string config =
        "bf16+rope B=" + std::to_string(c.batch) + " ctx=" + std::to_string(c.context / 1024) + "K";
    report.Add("IndexerDecode", config, timing, bytes,
               c.batch == 1 && c.context == 131072 ? "<100 us at 128K, B=1" : "");
  }
}

}  // namespace glm_ops::gpu
