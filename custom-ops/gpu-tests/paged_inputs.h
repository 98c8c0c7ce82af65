// Random paged batches for the parity harness: sequences with given past and new lengths, blocks handed out in a
// shuffled order (logical and physical order differ), one spare -1 column in the block table, spare pool blocks.
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "common/paged_batch.h"

namespace glm_ops::gpu {

struct PagedInputs {
  int64_t block_size = 0, max_blocks = 0, num_blocks = 0, tokens = 0;
  std::vector<int32_t> cu, past, block_table;

  int64_t Sequences() const { return static_cast<int64_t>(past.size()); }
  PagedBatchInputs Inputs() const {
    const int64_t batch = Sequences();
    return {{DType::kInt32, {batch + 1}}, cu.data(), {DType::kInt32, {batch}}, past.data(),
            {DType::kInt32, {batch, max_blocks}}, block_table.data()};
  }
};

inline PagedInputs MakePagedInputs(std::mt19937& rng, const std::vector<int64_t>& past,
                                   const std::vector<int64_t>& fresh, int64_t block_size) {
  PagedInputs p;
  p.block_size = block_size;
  p.cu.push_back(0);
  int64_t needed = 0;
  for (size_t b = 0; b < past.size(); ++b) {
    p.past.push_back(static_cast<int32_t>(past[b]));
    p.cu.push_back(p.cu.back() + static_cast<int32_t>(fresh[b]));
    const int64_t blocks = (past[b] + fresh[b] + block_size - 1) / block_size;
    p.max_blocks = std::max(p.max_blocks, blocks);
    needed += blocks;
  }
  p.max_blocks += 1;
  p.tokens = p.cu.back();
  p.num_blocks = needed + 2;
  std::vector<int32_t> order(static_cast<size_t>(p.num_blocks));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  p.block_table.assign(past.size() * static_cast<size_t>(p.max_blocks), -1);
  size_t next = 0;
  for (size_t b = 0; b < past.size(); ++b) {
    const int64_t blocks = (past[b] + fresh[b] + block_size - 1) / block_size;
    for (int64_t j = 0; j < blocks; ++j) p.block_table[b * p.max_blocks + j] = order[next++];
  }
  return p;
}

inline std::vector<float> RandomFloats(std::mt19937& rng, size_t count, float lo, float hi) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(count);
  for (float& x : v) x = dist(rng);
  return v;
}

}  // namespace glm_ops::gpu
