// Sparse MLA decode at GLM-5.2 widths (64 heads, latent 512 + rope 64, top-2048 selection) for batch 1, 8, 32 and
// contexts 4K, 32K, 128K, bf16, with rope tables (the stage graphs pass them: q_rope and k_rope arrive unrotated,
// one extra small launch). Bytes = the selected cache rows (read once per token; heads share them) + queries +
// outputs.
#include <random>
#include <string>
#include <vector>

#include "bench_cases.h"
#include "bench_paged.h"
#include "cuda/sparse_mla_attention_cuda.h"
#include "device_buffer.h"
#include "fill.h"

namespace glm_ops::gpu {

void BenchSparseMla(const BenchOptions& options, BenchReport& report) {
  constexpr int64_t kHeads = 64, kRank = 512, kRope = 64, kTopK = 2048, kBlock = 64;
  const std::vector<int64_t> batches = options.quick ? std::vector<int64_t>{1, 32} : std::vector<int64_t>{1, 8, 32};
  const std::vector<int64_t> contexts = options.quick ? std::vector<int64_t>{32768}
                                                      : std::vector<int64_t>{4096, 32768, 131072};
  for (int64_t context : contexts)
    for (int64_t batch : batches) {
      DecodeBatch decode(batch, context, kBlock);
      DeviceBuffer pool(decode.PoolRows() * (kRank + kRope) * 2);
      FillUniformBf16(pool.get(), decode.PoolRows() * (kRank + kRope), 11, -1.f, 1.f, nullptr);
      DeviceBuffer ql(batch * kHeads * kRank * 2), qr(batch * kHeads * kRope * 2), kv(batch * kRank * 2),
          kr(batch * kRope * 2), out(batch * kHeads * kRank * 2);
      FillUniformBf16(ql.get(), batch * kHeads * kRank, 12, -1.f, 1.f, nullptr);
      FillUniformBf16(qr.get(), batch * kHeads * kRope, 13, -1.f, 1.f, nullptr);
      FillUniformBf16(kv.get(), batch * kRank, 14, -1.f, 1.f, nullptr);
      FillUniformBf16(kr.get(), batch * kRope, 15, -1.f, 1.f, nullptr);
      DeviceBuffer rope_cos(batch * kRope / 2 * 4), rope_sin(batch * kRope / 2 * 4);
      FillUniformF32(rope_cos.as<float>(), batch * kRope / 2, 16, -1.f, 1.f, nullptr);
      FillUniformF32(rope_sin.as<float>(), batch * kRope / 2, 17, -1.f, 1.f, nullptr);
      std::mt19937 rng(static_cast<uint32_t>(context + batch));
      std::vector<int32_t> selection(static_cast<size_t>(batch * kTopK));
      for (int32_t& p : selection) p = static_cast<int32_t>(rng() % (context + 1));
      DeviceBuffer d_selection = DeviceBuffer::From(selection);
      SparseMlaShape shape;
      shape.tokens = batch;
      shape.n_heads = kHeads;
      shape.kv_lora_rank = kRank;
      shape.rope_dim = kRope;
      shape.topk = kTopK;
      shape.softmax_scale = 0.0625f;
      shape.rotate = true;
      shape.batch = decode.batch;
      DeviceBuffer workspace(cuda::SparseMlaAttentionWorkspaceBytes(shape));
      auto call = [&] {
        cuda::SparseMlaAttention(shape, cuda::Activation::kBFloat16, ql.get(), qr.get(), kv.get(), kr.get(),
                                 RopeTables{rope_cos.as<float>(), rope_sin.as<float>()}, pool.get(),
                                 d_selection.as<int32_t>(), out.get(), workspace.get(), workspace.bytes(), nullptr);
      };
      const Timing timing = TimeCalls(call, options.iterations);
      const double bytes = batch * (kTopK * (kRank + kRope) * 2.0 + kHeads * (2 * kRank + kRope) * 2.0);
      const std::string config =
          "bf16+rope B=" + std::to_string(batch) + " ctx=" + std::to_string(context / 1024) + "K";
      report.Add("SparseMlaDecode", config, timing, bytes, ">=60% of copy");
    }
}

}  // namespace glm_ops::gpu
