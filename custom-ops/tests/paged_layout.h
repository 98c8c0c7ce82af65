// Builds a random paged batch for tests: sequences with given past and new lengths, blocks handed out in a random
// order (so logical and physical order differ), and the batch inputs in the contract's int32 layout.
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "common/paged_batch.h"

namespace glm_ops::test {

struct PagedLayout {
  int64_t block_size = 0;
  int64_t max_blocks = 0;
  int64_t num_blocks = 0;
  int64_t tokens = 0;
  std::vector<int32_t> cu, past, block_table;

  int64_t Sequences() const { return static_cast<int64_t>(past.size()); }
  int64_t Length(int64_t b) const { return past[b] + cu[b + 1] - cu[b]; }
  int64_t Row(int64_t b, int64_t pos) const {
    return static_cast<int64_t>(block_table[b * max_blocks + pos / block_size]) * block_size + pos % block_size;
  }
  PagedBatchInputs Inputs() const {
    const int64_t batch = Sequences();
    return {{DType::kInt32, {batch + 1}}, cu.data(), {DType::kInt32, {batch}}, past.data(),
            {DType::kInt32, {batch, max_blocks}}, block_table.data()};
  }
};

inline PagedLayout MakeLayout(std::mt19937& rng, const std::vector<int64_t>& past_lengths,
                              const std::vector<int64_t>& new_lengths, int64_t block_size, int64_t spare_blocks = 3) {
  PagedLayout layout;
  layout.block_size = block_size;
  const size_t batch = past_lengths.size();
  layout.cu.push_back(0);
  int64_t needed = 0;
  for (size_t b = 0; b < batch; ++b) {
    layout.past.push_back(static_cast<int32_t>(past_lengths[b]));
    layout.cu.push_back(layout.cu.back() + static_cast<int32_t>(new_lengths[b]));
    const int64_t blocks = (past_lengths[b] + new_lengths[b] + block_size - 1) / block_size;
    layout.max_blocks = std::max(layout.max_blocks, blocks);
    needed += blocks;
  }
  layout.max_blocks += 1;  // one unused column, filled with -1, that must be ignored
  layout.tokens = layout.cu.back();
  layout.num_blocks = needed + spare_blocks;
  std::vector<int32_t> order(static_cast<size_t>(layout.num_blocks));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  layout.block_table.assign(batch * static_cast<size_t>(layout.max_blocks), -1);
  size_t next = 0;
  for (size_t b = 0; b < batch; ++b) {
    const int64_t blocks = (past_lengths[b] + new_lengths[b] + block_size - 1) / block_size;
    for (int64_t j = 0; j < blocks; ++j) layout.block_table[b * layout.max_blocks + j] = order[next++];
  }
  return layout;
}

}  // namespace glm_ops::test
