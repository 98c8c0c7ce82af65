#include "common/paged_batch.h"

#include <string>

#include "common/input_error.h"

namespace glm_ops {

namespace {

std::string Entry(const char* name, int64_t index, int64_t value) {
  return std::string(name) + "[" + std::to_string(index) + "] = " + std::to_string(value);
}

}  // namespace

PagedBatch ValidatePagedBatch(const char* op, int64_t num_tokens, const char* pool_name, const TensorDesc& pool,
                              const PagedBatchInputs& in) {
  CheckDType(op, pool_name, pool, DType::kFloat32);
  CheckRank(op, pool_name, pool.shape, 3);
  CheckDimAtLeast(op, pool_name, pool.shape, 1, 1, "block_size");

  CheckDType(op, kCumulativeSequenceLengths, in.cu, DType::kInt32);
  CheckRank(op, kCumulativeSequenceLengths, in.cu.shape, 1);
  CheckDimAtLeast(op, kCumulativeSequenceLengths, in.cu.shape, 0, 1, "batch + 1");
  const int64_t batch = in.cu.shape[0] - 1;

  CheckDType(op, kPastSequenceLengths, in.past, DType::kInt32);
  CheckRank(op, kPastSequenceLengths, in.past.shape, 1);
  CheckDim(op, kPastSequenceLengths, in.past.shape, 0, batch, "batch = length of cumulative_sequence_lengths - 1");

  CheckDType(op, kBlockTable, in.block_table, DType::kInt32);
  CheckRank(op, kBlockTable, in.block_table.shape, 2);
  CheckDim(op, kBlockTable, in.block_table.shape, 0, batch, "batch = length of cumulative_sequence_lengths - 1");

  PagedBatch b;
  b.num_sequences = batch;
  b.num_tokens = num_tokens;
  b.max_blocks = in.block_table.shape[1];
  b.num_blocks = pool.shape[0];
  b.block_size = pool.shape[1];
  b.cu = in.cu_data;
  b.past = in.past_data;
  b.block_table = in.block_table_data;

  if (b.cu[0] != 0)
    FailInput(op, kCumulativeSequenceLengths, "does not start at 0", "cumulative_sequence_lengths[0] = 0",
              Entry(kCumulativeSequenceLengths, 0, b.cu[0]));
  for (int64_t s = 0; s < batch; ++s) {
    if (b.cu[s + 1] < b.cu[s])
      FailInput(op, kCumulativeSequenceLengths, "decreases", "non-decreasing values",
                Entry(kCumulativeSequenceLengths, s, b.cu[s]) + " then " + std::to_string(b.cu[s + 1]));
  }
  if (b.cu[batch] != num_tokens)
    FailInput(op, kCumulativeSequenceLengths, "does not end at the number of new tokens",
              "cumulative_sequence_lengths[" + std::to_string(batch) + "] = " + std::to_string(num_tokens),
              std::to_string(b.cu[batch]));

  const int64_t capacity = b.max_blocks * b.block_size;
  for (int64_t s = 0; s < batch; ++s) {
    if (b.past[s] < 0)
      FailInput(op, kPastSequenceLengths, "is negative", "values >= 0", Entry(kPastSequenceLengths, s, b.past[s]));
    const int64_t length = b.Length(s);
    if (length > capacity)
      FailInput(op, kBlockTable, "is too short for a sequence",
                "at least " + std::to_string((length + b.block_size - 1) / b.block_size) + " blocks for sequence " +
                    std::to_string(s) + " of length " + std::to_string(length) + " (block_size " +
                    std::to_string(b.block_size) + ")",
                std::to_string(b.max_blocks) + " columns " + FormatShape(in.block_table.shape));
    const int64_t used_blocks = (length + b.block_size - 1) / b.block_size;
    for (int64_t j = 0; j < used_blocks; ++j) {
      const int32_t block = b.block_table[s * b.max_blocks + j];
      if (block < 0 || block >= b.num_blocks)
        FailInput(op, kBlockTable, "names a block outside the pool",
                  "block ids in [0, " + std::to_string(b.num_blocks) + ") (blocks of '" + pool_name + "')",
                  "block_table[" + std::to_string(s) + ", " + std::to_string(j) + "] = " + std::to_string(block));
    }
  }
  return b;
}

}  // namespace glm_ops
