// A decode batch for the benchmarks: B sequences of `context` cached tokens each plus one new token, blocks of 64
// rows laid out one sequence after another.
#pragma once

#include <cstdint>
#include <vector>

#include "common/paged_batch.h"

namespace glm_ops::gpu {

struct DecodeBatch {
  std::vector<int32_t> cu, past, table;
  PagedBatch batch;

  DecodeBatch(int64_t sequences, int64_t context, int64_t block_size) {
    const int64_t blocks_per_seq = (context + 1 + block_size - 1) / block_size;
    for (int64_t b = 0; b <= sequences; ++b) cu.push_back(static_cast<int32_t>(b));
    past.assign(static_cast<size_t>(sequences), static_cast<int32_t>(context));
    for (int64_t i = 0; i < sequences * blocks_per_seq; ++i) table.push_back(static_cast<int32_t>(i));
    batch.num_sequences = sequences;
    batch.num_tokens = sequences;
    batch.max_blocks = blocks_per_seq;
    batch.num_blocks = sequences * blocks_per_seq;
    batch.block_size = block_size;
    batch.cu = cu.data();
    batch.past = past.data();
    batch.block_table = table.data();
  }
  int64_t PoolRows() const { return batch.num_blocks * batch.block_size; }
};

}  // namespace glm_ops::gpu
