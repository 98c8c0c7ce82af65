// The packed, variable-length batch every paged op receives: which new tokens belong to which sequence, how long
// each sequence already is, and where its positions live in the block pools. Validated once per call; the kernels
// then trust it (no bounds checks in hot loops).
#pragma once

#include <cstdint>

#include "common/tensor_desc.h"

namespace glm_ops {

// Input names shared by all paged ops (they match docs/onnx-contract.md and GraphNames.cs).
inline constexpr const char* kCumulativeSequenceLengths = "cumulative_sequence_lengths";
inline constexpr const char* kPastSequenceLengths = "past_sequence_lengths";
inline constexpr const char* kBlockTable = "block_table";

// A validated view over host-resident batch data (the pointers are the caller's; nothing is copied).
struct PagedBatch {
  int64_t num_sequences = 0;
  int64_t num_tokens = 0;
  int64_t max_blocks = 0;  // columns of block_table
  int64_t num_blocks = 0;  // blocks in the pool
  int64_t block_size = 0;  // rows per block, read from the pool's shape
  const int32_t* cu = nullptr;           // [num_sequences + 1]
  const int32_t* past = nullptr;         // [num_sequences]
  const int32_t* block_table = nullptr;  // [num_sequences, max_blocks]

  int64_t NewTokens(int64_t seq) const { return cu[seq + 1] - cu[seq]; }
  // Total length of sequence `seq` after this step (past + new).
  int64_t Length(int64_t seq) const { return static_cast<int64_t>(past[seq]) + NewTokens(seq); }
  // Pool row (block * block_size + offset) that holds position `pos` of sequence `seq`.
  int64_t PoolRow(int64_t seq, int64_t pos) const {
    return static_cast<int64_t>(block_table[seq * max_blocks + pos / block_size]) * block_size + pos % block_size;
  }
};

struct PagedBatchInputs {
  TensorDesc cu;
  const int32_t* cu_data = nullptr;
  TensorDesc past;
  const int32_t* past_data = nullptr;
  TensorDesc block_table;
  const int32_t* block_table_data = nullptr;
};

// Checks types, shapes and contents: cu is a prefix sum from 0 to num_tokens, past >= 0, every sequence fits in
// max_blocks * block_size, and every block-table entry a sequence uses (positions < past + new) is in
// [0, num_blocks). `pool` is the pool input (rank 3); its name appears in errors about it.
PagedBatch ValidatePagedBatch(const char* op, int64_t num_tokens, const char* pool_name, const TensorDesc& pool,
                              const PagedBatchInputs& inputs);

}  // namespace glm_ops
