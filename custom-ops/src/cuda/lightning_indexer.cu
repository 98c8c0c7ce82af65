#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda/block_scan.cuh"
#include "cuda/cuda_check.h"
#include "cuda/device_common.cuh"
#include "cuda/lightning_indexer_cuda.h"
#include "cuda/paged_write.h"
#include "cuda/rope_cuda.h"

namespace glm_ops::cuda {

namespace {

// ---- tuning constants (docs/cuda.md explains each) ----
constexpr int kScoreThreads = 256;       // 8 warps; warp w owns head groups w, w + 8, ... (4 heads each)
constexpr int kTileKeys = 128;           // keys per tile: lane l owns keys l, l + 32, l + 64, l + 96
constexpr int kDChunk = 32;              // head_dim slice staged in shared memory per step
constexpr int kKeyStride = kDChunk + 4;  // padding: the 8 lanes of a 128-bit load phase hit distinct banks
constexpr int kRadixBits = 12;           // first radix digit: top 12 bits of the order key
constexpr int kBins = 1 << kRadixBits;
constexpr int kCollectThreads = 256;
constexpr int kCollectPerThread = 8;
constexpr int kFinalThreads = 1024;
constexpr int kMaxTopK = 16384;            // the final sort keeps index_topk 64-bit keys in shared memory
constexpr int64_t kKeyBudget = int64_t{1} << 24;  // scores (+ candidates) kept at once: 128 MiB of scratch
constexpr int kMaxGroupQueries = 1024;    // histograms kept at once: 16 MiB
constexpr int kStateWords = 4;            // per query: boundary bin, count above it, candidates, selected

struct Query {
  int32_t token;
  int32_t sequence;
  int32_t keys;  // causal keys = position + 1 (> index_topk)
  int32_t unused;
  int64_t offset;  // into the group's score and candidate buffers
};

struct Group {
  size_t first, count;
  int64_t keys, max_keys;
};

struct Plan {
  std::vector<Query> queries;
  std::vector<Group> groups;
  int64_t max_group_keys = 0;
  int64_t max_group_queries = 0;
};

Plan MakePlan(const LightningIndexerShape& s) {
  Plan plan;
  const PagedBatch& b = s.batch;
  Group group{0, 0, 0, 0};
  for (int64_t seq = 0; seq < b.num_sequences; ++seq)
    for (int64_t j = 0; j < b.NewTokens(seq); ++j) {
      const int64_t keys = b.past[seq] + j + 1;
      if (keys <= s.index_topk) continue;  // every causal key selected, no scoring (TrivialRowsKernel)
      if (group.count > 0 && (group.keys + keys > kKeyBudget || group.count == kMaxGroupQueries)) {
        plan.groups.push_back(group);
        group = Group{plan.queries.size(), 0, 0, 0};
      }
      plan.queries.push_back(Query{static_cast<int32_t>(b.cu[seq] + j), static_cast<int32_t>(seq),
                                   static_cast<int32_t>(keys), 0, group.keys});
      ++group.count;
      group.keys += keys;
      group.max_keys = std::max(group.max_keys, keys);
    }
  if (group.count > 0) plan.groups.push_back(group);
  for (const Group& g : plan.groups) {
    plan.max_group_keys = std::max(plan.max_group_keys, g.keys);
    plan.max_group_queries = std::max(plan.max_group_queries, static_cast<int64_t>(g.count));
  }
  return plan;
}

struct Buffers {
  DeviceBatch batch;
  Query* queries;
  float* scores;
  int32_t* candidates;
  uint32_t* histograms;
  uint32_t* state;
  void* q_rotated;  // [T, H, D] and [T, D] when shape.rotary_dim > 0: the kernels read these instead of the inputs
  void* k_rotated;
};

Buffers Carve(const LightningIndexerShape& s, const Plan& plan, Workspace& ws, cudaStream_t stream) {
  Buffers b;
  b.batch = UploadBatch(s.batch, ws, stream);
  b.queries = ws.Take<Query>(plan.queries.size());
  b.scores = ws.Take<float>(static_cast<size_t>(plan.max_group_keys));
  b.candidates = ws.Take<int32_t>(static_cast<size_t>(plan.max_group_keys));
  b.histograms = ws.Take<uint32_t>(static_cast<size_t>(plan.max_group_queries) * kBins);
  b.state = ws.Take<uint32_t>(static_cast<size_t>(plan.max_group_queries) * kStateWords);
  // Rotated copies, sized as float32 (the widest activation) so the size does not depend on the type.
  const size_t rotated = s.rotary_dim > 0 ? static_cast<size_t>(s.tokens * s.head_dim) : 0;
  b.q_rotated = ws.Take<float>(rotated * static_cast<size_t>(s.n_heads));
  b.k_rotated = ws.Take<float>(rotated);
  return b;
}

// Tokens whose position + 1 <= index_topk select every causal position, ascending, then -1 (the contract's rule).
__global__ void TrivialRowsKernel(DeviceBatch batch, int32_t topk, int32_t* out) {
  const int token = blockIdx.x;
  const int seq = SequenceOf(batch, token);
  const int64_t keys = batch.past[seq] + (token - batch.cu[seq]) + 1;
  if (keys > topk) return;
  for (int t = threadIdx.x; t < topk; t += blockDim.x) out[int64_t{token} * topk + t] = t < keys ? t : -1;
}

// Scores keys [chunk start, +tiles * kTileKeys) of one query: score(t) = sum_h w_h * scale * ReLU(q_h . k_t)
// (scale > 0 is folded into w). A register tile of 4 heads x 4 keys per thread over 128-bit shared-memory loads;
// also builds the query's first radix histogram so no extra pass over the scores is needed.
template <typename T, int kGroupsPerWarp>
__global__ void __launch_bounds__(kScoreThreads)
    ScoreKernel(DeviceBatch batch, const Query* queries, const T* q, const T* w, const T* pool, int heads, int dim,
                int dim_pad, float scale, int tiles_per_block, float* scores, uint32_t* histograms) {
  constexpr int kHeadsPad = 32 * kGroupsPerWarp;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  float* qs = reinterpret_cast<float*>(smem_raw);           // [kHeadsPad][dim_pad]
  float* ws = qs + kHeadsPad * dim_pad;                      // [kHeadsPad]
  float* ks = ws + kHeadsPad;                                // [kTileKeys][kKeyStride]
  float* red = ks + kTileKeys * kKeyStride;                  // [8][kTileKeys]
  int64_t* rows = reinterpret_cast<int64_t*>(red + 8 * kTileKeys);  // [kTileKeys] element offsets, -1 = none
  uint32_t* hist = reinterpret_cast<uint32_t*>(rows + kTileKeys);  // [kBins]

  const Query query = queries[blockIdx.y];
  const int64_t start = int64_t{blockIdx.x} * tiles_per_block * kTileKeys;
  if (start >= query.keys) return;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;

  for (int i = tid; i < kHeadsPad * dim_pad; i += kScoreThreads) {
    const int h = i / dim_pad, d = i % dim_pad;
    qs[i] = (h < heads && d < dim) ? ToFloat(q[(int64_t{query.token} * heads + h) * dim + d]) : 0.0f;
  }
  for (int h = tid; h < kHeadsPad; h += kScoreThreads)
    ws[h] = h < heads ? ToFloat(w[int64_t{query.token} * heads + h]) * scale : 0.0f;
  for (int i = tid; i < kBins; i += kScoreThreads) hist[i] = 0;
  const bool vector_rows = (dim & 3) == 0;

  for (int tile = 0; tile < tiles_per_block; ++tile) {
    const int64_t t0 = start + int64_t{tile} * kTileKeys;
    if (t0 >= query.keys) break;
    __syncthreads();  // previous tile's readers of rows/red are done
    if (tid < kTileKeys) {
      const int64_t key = t0 + tid;
      rows[tid] = key < query.keys ? PoolRow(batch, query.sequence, key) * dim : -1;
    }
    float acc[kGroupsPerWarp][4][4];
#pragma unroll
    for (int g = 0; g < kGroupsPerWarp; ++g)
#pragma unroll
      for (int h = 0; h < 4; ++h)
#pragma unroll
        for (int i = 0; i < 4; ++i) acc[g][h][i] = 0.0f;

    for (int dc = 0; dc < dim_pad; dc += kDChunk) {
      __syncthreads();  // rows ready / previous chunk consumed
      {
        // 128 rows x 32 dims: two threads per row, 16 dims each.
        const int r = tid >> 1, d0 = dc + (tid & 1) * 16;
        const int64_t base = rows[r];
        float* dst = ks + r * kKeyStride + (tid & 1) * 16;
#pragma unroll
        for (int v = 0; v < 4; ++v) {
          const int d = d0 + v * 4;
          float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
          if (base >= 0) {
            if (vector_rows && d + 4 <= dim) {
              x = Load4(pool + base + d);
            } else {
              float e[4];
              for (int u = 0; u < 4; ++u) e[u] = d + u < dim ? ToFloat(pool[base + d + u]) : 0.0f;
              x = make_float4(e[0], e[1], e[2], e[3]);
            }
          }
          *reinterpret_cast<float4*>(dst + v * 4) = x;
        }
      }
      __syncthreads();
#pragma unroll
      for (int dd = 0; dd < kDChunk; dd += 4) {
        float4 kv[4];
#pragma unroll
        for (int i = 0; i < 4; ++i) kv[i] = *reinterpret_cast<const float4*>(ks + (lane + 32 * i) * kKeyStride + dd);
#pragma unroll
        for (int g = 0; g < kGroupsPerWarp; ++g)
#pragma unroll
          for (int h = 0; h < 4; ++h) {
            const float4 qv = *reinterpret_cast<const float4*>(qs + ((warp + 8 * g) * 4 + h) * dim_pad + dc + dd);
#pragma unroll
            for (int i = 0; i < 4; ++i)
              acc[g][h][i] += qv.x * kv[i].x + qv.y * kv[i].y + qv.z * kv[i].z + qv.w * kv[i].w;
          }
      }
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      float s = 0.0f;
#pragma unroll
      for (int g = 0; g < kGroupsPerWarp; ++g)
#pragma unroll
        for (int h = 0; h < 4; ++h) s += ws[(warp + 8 * g) * 4 + h] * fmaxf(acc[g][h][i], 0.0f);
      red[warp * kTileKeys + lane + 32 * i] = s;
    }
    __syncthreads();
    if (tid < kTileKeys && t0 + tid < query.keys) {
      float total = 0.0f;
#pragma unroll
      for (int v = 0; v < 8; ++v) total += red[v * kTileKeys + tid];
      scores[query.offset + t0 + tid] = total;
      atomicAdd(&hist[OrderKey(total) >> (32 - kRadixBits)], 1u);
    }
  }
  __syncthreads();
  uint32_t* global_hist = histograms + int64_t{blockIdx.y} * kBins;
  for (int i = tid; i < kBins; i += kScoreThreads)
    if (hist[i]) atomicAdd(&global_hist[i], hist[i]);
}

// Per query: the first-digit bin holding the index_topk-th largest score.
__global__ void __launch_bounds__(kFinalThreads) ThresholdKernel(const uint32_t* histograms, int32_t topk,
                                                                  uint32_t* state) {
  __shared__ uint32_t scratch[35];
  uint32_t digit, above;
  FindBoundaryDigit(histograms + int64_t{blockIdx.x} * kBins, kBins, static_cast<uint32_t>(topk), scratch, &digit,
                    &above);
  if (threadIdx.x == 0) {
    state[blockIdx.x * kStateWords + 0] = digit;
    state[blockIdx.x * kStateWords + 1] = above;
  }
}

// Appends `value` at list[base + rank] for every lane with `take`, one atomic per warp.
__device__ __forceinline__ void WarpAppend(bool take, int32_t value, uint32_t* counter, int32_t* list) {
  const unsigned mask = __ballot_sync(0xFFFFFFFFu, take);
  if (!mask) return;
  const int lane = threadIdx.x & 31;
  const int leader = __ffs(mask) - 1;
  uint32_t base = 0;
  if (lane == leader) base = atomicAdd(counter, static_cast<uint32_t>(__popc(mask)));
  base = __shfl_sync(0xFFFFFFFFu, base, leader);
  if (take) list[base + __popc(mask & ((1u << lane) - 1u))] = value;
}

// Multi-block pass over the scores: keys above the boundary bin go straight into the output row (fewer than
// index_topk of them), keys in the boundary bin become candidates for the refinement.
__global__ void __launch_bounds__(kCollectThreads) CollectKernel(const Query* queries, const float* scores,
                                                                  int32_t topk, uint32_t* state, int32_t* candidates,
                                                                  int32_t* out) {
  const Query query = queries[blockIdx.y];
  uint32_t* st = state + blockIdx.y * kStateWords;
  const uint32_t boundary = st[0];
  const int64_t base = int64_t{blockIdx.x} * kCollectThreads * kCollectPerThread;
  if (base >= query.keys) return;
  int32_t* row = out + int64_t{query.token} * topk;
  for (int j = 0; j < kCollectPerThread; ++j) {
    const int64_t key = base + j * kCollectThreads + threadIdx.x;
    uint32_t bin = 0;
    const bool valid = key < query.keys;
    if (valid) bin = OrderKey(scores[query.offset + key]) >> (32 - kRadixBits);
    WarpAppend(valid && bin > boundary, static_cast<int32_t>(key), &st[3], row);
    WarpAppend(valid && bin == boundary, static_cast<int32_t>(key), &st[2], candidates + query.offset);
  }
}

// One block per query: refines the boundary bin with two more radix digits (12 + 8 bits) to the exact threshold
// score, resolves ties at the threshold by lowest position, then sorts the index_topk winners by (score desc,
// position asc) with a bitonic sort in shared memory.
__global__ void __launch_bounds__(kFinalThreads) FinalizeKernel(const Query* queries, const float* scores,
                                                                 int32_t topk, int32_t sort_size,
                                                                 const uint32_t* state, const int32_t* candidates,
                                                                 int32_t* out) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  uint64_t* sort_keys = reinterpret_cast<uint64_t*>(smem_raw);     // [sort_size]
  uint32_t* hist = reinterpret_cast<uint32_t*>(sort_keys + sort_size);  // [kBins]
  __shared__ uint32_t scratch[35];
  __shared__ uint32_t taken;

  const Query query = queries[blockIdx.x];
  const uint32_t* st = state + blockIdx.x * kStateWords;
  const uint32_t first_digit = st[0], above_first = st[1], count = st[2];
  const float* row_scores = scores + query.offset;
  const int32_t* cand = candidates + query.offset;
  int32_t* row = out + int64_t{query.token} * topk;
  const int tid = threadIdx.x;

  // Second digit: key bits 19..8 among the candidates (all share the first digit).
  uint32_t need = static_cast<uint32_t>(topk) - above_first;
  for (int i = tid; i < kBins; i += kFinalThreads) hist[i] = 0;
  __syncthreads();
  for (uint32_t i = tid; i < count; i += kFinalThreads)
    atomicAdd(&hist[(OrderKey(row_scores[cand[i]]) >> 8) & 0xFFFu], 1u);
  __syncthreads();
  uint32_t second_digit, above_second;
  FindBoundaryDigit(hist, kBins, need, scratch, &second_digit, &above_second);
  need -= above_second;
  // Third digit: bits 7..0 among candidates matching the first two digits.
  const uint32_t prefix = (first_digit << 20) | (second_digit << 8);
  for (int i = tid; i < 256; i += kFinalThreads) hist[i] = 0;
  __syncthreads();
  for (uint32_t i = tid; i < count; i += kFinalThreads) {
    const uint32_t key = OrderKey(row_scores[cand[i]]);
    if ((key & 0xFFFFFF00u) == prefix) atomicAdd(&hist[key & 0xFFu], 1u);
  }
  __syncthreads();
  uint32_t third_digit, above_third;
  FindBoundaryDigit(hist, 256, need, scratch, &third_digit, &above_third);
  need -= above_third;  // keys equal to the threshold still to take (>= 1)
  const uint32_t threshold = prefix | third_digit;
  const uint32_t equal = hist[third_digit];
  const bool take_all_equal = equal == need;

  if (tid == 0) taken = above_first;
  __syncthreads();
  for (uint32_t i = tid; i < count; i += kFinalThreads) {
    const uint32_t key = OrderKey(row_scores[cand[i]]);
    if (key > threshold || (take_all_equal && key == threshold)) row[atomicAdd(&taken, 1u)] = cand[i];
  }
  __syncthreads();
  if (!take_all_equal) {
    // Ties at the threshold: the lowest positions win. Rare (equal float scores), so an ordered block-wide scan
    // over the scores is fine.
    uint32_t remaining = need;
    for (int64_t t0 = 0; t0 < query.keys && remaining > 0; t0 += kFinalThreads) {
      const int64_t t = t0 + tid;
      const bool eq = t < query.keys && OrderKey(row_scores[t]) == threshold;
      uint32_t total;
      const uint32_t rank = BlockExclusiveSum(eq ? 1u : 0u, scratch, &total);
      if (eq && rank < remaining) row[taken + rank] = static_cast<int32_t>(t);
      __syncthreads();
      const uint32_t used = total < remaining ? total : remaining;
      if (tid == 0) taken += used;
      remaining -= used;
      __syncthreads();
    }
  }
  __syncthreads();

  // Sort key: score order in the high word, inverted position in the low word, so one descending sort gives
  // "higher score first, then lower position". Padding (0) sorts last.
  for (int i = tid; i < sort_size; i += kFinalThreads) {
    uint64_t key = 0;
    if (i < topk) {
      const int32_t pos = row[i];
      key = (uint64_t{OrderKey(row_scores[pos])} << 32) | (0xFFFFFFFFu - static_cast<uint32_t>(pos));
    }
    sort_keys[i] = key;
  }
  __syncthreads();
  for (int size = 2; size <= sort_size; size <<= 1)
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      for (int i = tid; i < sort_size; i += kFinalThreads) {
        const int partner = i ^ stride;
        if (partner > i) {
          const bool descending = (i & size) == 0;
          const uint64_t a = sort_keys[i], b = sort_keys[partner];
          if ((a < b) == descending) {
            sort_keys[i] = b;
            sort_keys[partner] = a;
          }
        }
      }
      __syncthreads();
    }
  for (int i = tid; i < topk; i += kFinalThreads)
    row[i] = static_cast<int32_t>(0xFFFFFFFFu - static_cast<uint32_t>(sort_keys[i] & 0xFFFFFFFFu));
}

int SortSize(int64_t topk) {
  int size = 1;
  while (size < topk) size <<= 1;
  return size;
}

template <typename T, int kGroupsPerWarp>
void LaunchScore(const LightningIndexerShape& s, const Buffers& b, const Query* queries, const Group& g,
                 const void* q, const void* w, const void* pool, cudaStream_t stream) {
  const int dim = static_cast<int>(s.head_dim);
  const int dim_pad = static_cast<int>(CeilDiv(dim, kDChunk) * kDChunk);
  const size_t smem = sizeof(float) * (32 * kGroupsPerWarp * (dim_pad + 1) + kTileKeys * kKeyStride + 8 * kTileKeys) +
                      sizeof(int64_t) * kTileKeys + sizeof(uint32_t) * kBins;
  auto kernel = ScoreKernel<T, kGroupsPerWarp>;
  GLM_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)));
  // Enough blocks to fill the GPU (~2 waves of 132 SMs) even for one decode query, at most 8 tiles per block.
  const int64_t tiles = CeilDiv(g.max_keys, kTileKeys);
  const int64_t wanted_blocks_per_query = std::max<int64_t>(1, 264 / static_cast<int64_t>(g.count));
  const int tiles_per_block = static_cast<int>(std::clamp<int64_t>(CeilDiv(tiles, wanted_blocks_per_query), 1, 8));
  const dim3 grid(static_cast<unsigned>(CeilDiv(tiles, tiles_per_block)), static_cast<unsigned>(g.count));
  kernel<<<grid, kScoreThreads, smem, stream>>>(b.batch, queries, static_cast<const T*>(q), static_cast<const T*>(w),
                                                static_cast<const T*>(pool), static_cast<int>(s.n_heads), dim, dim_pad,
                                                s.scale, tiles_per_block, b.scores, b.histograms);
  GLM_CUDA_CHECK_LAUNCH();
}

template <typename T>
void LaunchScoreForHeads(const LightningIndexerShape& s, const Buffers& b, const Query* queries, const Group& g,
                         const void* q, const void* w, const void* pool, cudaStream_t stream) {
  if (s.n_heads <= 32)
    LaunchScore<T, 1>(s, b, queries, g, q, w, pool, stream);
  else if (s.n_heads <= 64)
    LaunchScore<T, 2>(s, b, queries, g, q, w, pool, stream);
  else
    LaunchScore<T, 4>(s, b, queries, g, q, w, pool, stream);
}

void CheckSupported(const LightningIndexerShape& s) {
  if (s.n_heads > 128)
    throw std::invalid_argument("LightningIndexer (CUDA): index_q has " + std::to_string(s.n_heads) +
                                " heads: expected at most 128");
  if (s.index_topk > kMaxTopK)
    throw std::invalid_argument("LightningIndexer (CUDA): attribute 'index_topk' = " + std::to_string(s.index_topk) +
                                ": expected at most " + std::to_string(kMaxTopK));
  if (s.head_dim > 1024)
    throw std::invalid_argument("LightningIndexer (CUDA): index_q head_dim " + std::to_string(s.head_dim) +
                                ": expected at most 1024");
}

}  // namespace

size_t LightningIndexerWorkspaceBytes(const LightningIndexerShape& shape) {
  const Plan plan = MakePlan(shape);
  Workspace sizing;
  Carve(shape, plan, sizing, nullptr);
  return sizing.Used();
}

void LightningIndexer(const LightningIndexerShape& s, Activation type, const void* index_q, const void* index_k,
                      const void* head_weights, const RopeTables& rope, void* index_pool, int32_t* topk_indices,
                      void* workspace, size_t workspace_bytes, cudaStream_t stream) {
  if (s.tokens == 0) return;
  CheckSupported(s);
  const Plan plan = MakePlan(s);
  Workspace ws(workspace, workspace_bytes);
  const Buffers b = Carve(s, plan, ws, stream);
  if (s.rotary_dim > 0) {  // rope tables given: rotate q and k before the key write and the scores
    RotateQueryAndKey(type, rope, s.tokens, s.n_heads, s.head_dim, s.rotary_dim, index_q, index_k, b.q_rotated,
                      b.k_rotated, stream);
    index_q = b.q_rotated;
    index_k = b.k_rotated;
  }
  WritePagedRows(type, b.batch, index_k, s.head_dim, nullptr, 0, index_pool, stream);
  const int32_t topk = static_cast<int32_t>(s.index_topk);
  TrivialRowsKernel<<<static_cast<unsigned>(s.tokens), 256, 0, stream>>>(b.batch, topk, topk_indices);
  GLM_CUDA_CHECK_LAUNCH();
  if (plan.queries.empty()) return;
  GLM_CUDA_CHECK(cudaMemcpyAsync(b.queries, plan.queries.data(), plan.queries.size() * sizeof(Query),
                                 cudaMemcpyHostToDevice, stream));

  const int sort_size = SortSize(s.index_topk);
  const size_t final_smem = sizeof(uint64_t) * sort_size + sizeof(uint32_t) * kBins;
  GLM_CUDA_CHECK(cudaFuncSetAttribute(FinalizeKernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                      static_cast<int>(final_smem)));
  for (const Group& g : plan.groups) {
    const Query* queries = b.queries + g.first;
    GLM_CUDA_CHECK(cudaMemsetAsync(b.histograms, 0, g.count * kBins * sizeof(uint32_t), stream));
    GLM_CUDA_CHECK(cudaMemsetAsync(b.state, 0, g.count * kStateWords * sizeof(uint32_t), stream));
    if (type == Activation::kFloat32)
      LaunchScoreForHeads<float>(s, b, queries, g, index_q, head_weights, index_pool, stream);
    else
      LaunchScoreForHeads<__nv_bfloat16>(s, b, queries, g, index_q, head_weights, index_pool, stream);
    ThresholdKernel<<<static_cast<unsigned>(g.count), kFinalThreads, 0, stream>>>(b.histograms, topk, b.state);
    GLM_CUDA_CHECK_LAUNCH();
    const dim3 collect_grid(static_cast<unsigned>(CeilDiv(g.max_keys, kCollectThreads * kCollectPerThread)),
                            static_cast<unsigned>(g.count));
    CollectKernel<<<collect_grid, kCollectThreads, 0, stream>>>(queries, b.scores, topk, b.state, b.candidates,
                                                                topk_indices);
    GLM_CUDA_CHECK_LAUNCH();
    FinalizeKernel<<<static_cast<unsigned>(g.count), kFinalThreads, final_smem, stream>>>(
        queries, b.scores, topk, sort_size, b.state, b.candidates, topk_indices);
    GLM_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace glm_ops::cuda
