// The shared validation of the paged ops: every documented error names the op, the input, and expected vs actual.
#include <gtest/gtest.h>

#include "common/lightning_indexer_validation.h"
#include "common/sparse_mla_validation.h"
#include "paged_layout.h"
#include "test_support.h"

namespace glm_ops {
namespace {

using test::ExpectInputError;

// Two sequences (past 5 and 0, new 2 and 3) in a pool of block size 4.
struct Batch {
  std::vector<int32_t> cu{0, 2, 5}, past{5, 0}, table{3, 1, -1, 2, -1, -1};
  TensorDesc pool{DType::kFloat32, {4, 4, 16}};
  PagedBatchInputs Inputs() const {
    return {{DType::kInt32, {3}}, cu.data(), {DType::kInt32, {2}}, past.data(), {DType::kInt32, {2, 3}},
            table.data()};
  }
};

TEST(PagedBatchValidation, AcceptsAWellFormedBatch) {
  Batch b;
  const PagedBatch batch = ValidatePagedBatch("Op", 5, "pool", b.pool, b.Inputs());
  EXPECT_EQ(batch.num_sequences, 2);
  EXPECT_EQ(batch.block_size, 4);
  EXPECT_EQ(batch.PoolRow(0, 6), 1 * 4 + 2);
  EXPECT_EQ(batch.PoolRow(1, 2), 2 * 4 + 2);
}

TEST(PagedBatchValidation, RejectsBadBatchDescriptions) {
  {
    Batch b;
    b.cu = {1, 2, 5};
    ExpectInputError([&] { ValidatePagedBatch("Op", 5, "pool", b.pool, b.Inputs()); },
                     {"Op: input 'cumulative_sequence_lengths' does not start at 0", "got cumulative_sequence_lengths[0] = 1"});
  }
  {
    Batch b;
    b.cu = {0, 3, 2};
    ExpectInputError([&] { ValidatePagedBatch("Op", 2, "pool", b.pool, b.Inputs()); }, {"decreases"});
  }
  {
    Batch b;
    ExpectInputError([&] { ValidatePagedBatch("Op", 6, "pool", b.pool, b.Inputs()); },
                     {"does not end at the number of new tokens", "expected cumulative_sequence_lengths[2] = 6", "got 5"});
  }
  {
    Batch b;
    b.past = {-1, 0};
    ExpectInputError([&] { ValidatePagedBatch("Op", 5, "pool", b.pool, b.Inputs()); },
                     {"'past_sequence_lengths' is negative", "past_sequence_lengths[0] = -1"});
  }
  {
    Batch b;
    b.past = {11, 0};  // 13 positions need 4 blocks of 4, the table has 3 columns
    ExpectInputError([&] { ValidatePagedBatch("Op", 5, "pool", b.pool, b.Inputs()); },
                     {"'block_table' is too short", "at least 4 blocks for sequence 0 of length 13", "got 3 columns [2, 3]"});
  }
  {
    Batch b;
    b.table[1] = 4;
    ExpectInputError([&] { ValidatePagedBatch("Op", 5, "pool", b.pool, b.Inputs()); },
                     {"'block_table' names a block outside the pool", "[0, 4)", "block_table[0, 1] = 4"});
  }
  {
    Batch b;
    TensorDesc past{DType::kInt64, {2}};
    PagedBatchInputs in = b.Inputs();
    in.past = past;
    ExpectInputError([&] { ValidatePagedBatch("Op", 5, "pool", b.pool, in); },
                     {"'past_sequence_lengths' has the wrong element type", "expected int32", "got int64"});
  }
  {
    Batch b;
    PagedBatchInputs in = b.Inputs();
    in.block_table.shape = {3, 3};
    ExpectInputError([&] { ValidatePagedBatch("Op", 5, "pool", b.pool, in); },
                     {"'block_table'", "dimension 0 = 2", "got [3, 3]"});
  }
  {
    Batch b;
    TensorDesc pool{DType::kBFloat16, {4, 4, 16}};
    ExpectInputError([&] { ValidatePagedBatch("Op", 5, "latent_pool", pool, b.Inputs()); },
                     {"input 'latent_pool' has the wrong element type", "got bfloat16"});
  }
}

LightningIndexerInputs IndexerInputs(const Batch& b) {
  LightningIndexerInputs in;
  in.index_q = {DType::kFloat32, {5, 4, 16}};
  in.index_k = {DType::kFloat32, {5, 16}};
  in.head_weights = {DType::kFloat32, {5, 4}};
  in.index_pool = b.pool;
  in.batch = b.Inputs();
  return in;
}

TEST(LightningIndexerValidation, RejectsBadShapesTypesAndAttributes) {
  Batch b;
  const LightningIndexerShape ok = ValidateLightningIndexer(IndexerInputs(b), {8, std::nullopt});
  EXPECT_FLOAT_EQ(ok.scale, 0.25f);
  auto in = IndexerInputs(b);
  in.index_k.shape = {5, 12};
  ExpectInputError([&] { ValidateLightningIndexer(in, {8, std::nullopt}); },
                   {"LightningIndexer: input 'index_k'", "dimension 1 = 16 (index_head_dim from index_q)", "got [5, 12]"});
  in = IndexerInputs(b);
  in.head_weights.shape = {5, 3};
  ExpectInputError([&] { ValidateLightningIndexer(in, {8, std::nullopt}); }, {"'head_weights'", "dimension 1 = 4"});
  in = IndexerInputs(b);
  in.index_q.dtype = DType::kFloat16;
  ExpectInputError([&] { ValidateLightningIndexer(in, {8, std::nullopt}); }, {"'index_q'", "got float16"});
  // index_q as [T, n_heads * head_dim] (a projection's output): n_heads from head_weights.
  in = IndexerInputs(b);
  in.index_q.shape = {5, 64};
  const LightningIndexerShape flat = ValidateLightningIndexer(in, {8, std::nullopt});
  EXPECT_EQ(flat.n_heads, 4);
  EXPECT_EQ(flat.head_dim, 16);
  in.index_q.shape = {5, 66};
  ExpectInputError([&] { ValidateLightningIndexer(in, {8, std::nullopt}); },
                   {"'index_q'", "not n_heads x head_dim", "[5, 66]"});
  in.index_q.shape = {5, 4, 16, 1};
  ExpectInputError([&] { ValidateLightningIndexer(in, {8, std::nullopt}); }, {"'index_q'", "wrong rank", "got [5, 4, 16, 1]"});
  in.index_q.shape = {5, 64};
  in.head_weights.shape = {5};  // a flat index_q takes n_heads from head_weights, which has none here
  ExpectInputError([&] { ValidateLightningIndexer(in, {8, std::nullopt}); },
                   {"'head_weights'", "wrong shape", "n_heads for a 2-D index_q", "got [5]"});
  in = IndexerInputs(b);
  in.index_q.shape = {5, 4, 0};
  ExpectInputError([&] { ValidateLightningIndexer(in, {8, std::nullopt}); }, {"'index_q'", "index_head_dim"});
  in = IndexerInputs(b);
  in.index_pool.shape = {4, 4, 32};
  ExpectInputError([&] { ValidateLightningIndexer(in, {8, std::nullopt}); },
                   {"'index_pool'", "dimension 2 = 16", "got [4, 4, 32]"});
  ExpectInputError([&] { ValidateLightningIndexer(IndexerInputs(b), {0, std::nullopt}); }, {"attribute 'index_topk'"});
  // Rope tables: [T, rotary_dim / 2], rotary_dim <= head_dim, both or neither.
  in = IndexerInputs(b);
  EXPECT_EQ(ValidateLightningIndexer(in, {8, std::nullopt}).rotary_dim, 0);
  in.rope = {true, true, {DType::kFloat32, {5, 4}}, {DType::kFloat32, {5, 4}}};
  EXPECT_EQ(ValidateLightningIndexer(in, {8, std::nullopt}).rotary_dim, 8);
  in.rope.cos.shape = in.rope.sin.shape = {5, 9};
  ExpectInputError([&] { ValidateLightningIndexer(in, {8, std::nullopt}); },
                   {"LightningIndexer: input 'rope_cos'", "rotary_dim / 2 <= head_dim / 2 = 8", "got [5, 9]"});
  in.rope.cos.shape = {5, 4};
  ExpectInputError([&] { ValidateLightningIndexer(in, {8, std::nullopt}); }, {"'rope_sin'", "dimension 1 = 4", "[5, 9]"});
  in.rope.sin.shape = {4, 4};
  ExpectInputError([&] { ValidateLightningIndexer(in, {8, std::nullopt}); }, {"'rope_sin'", "dimension 0 = 5 (tokens)"});
  in.rope.has_sin = false;
  ExpectInputError([&] { ValidateLightningIndexer(in, {8, std::nullopt}); }, {"'rope_sin' is missing", "only rope_cos"});
  ExpectInputError([&] { ValidateLightningIndexer(IndexerInputs(b), {8, -1.0f}); }, {"attribute 'scale'"});
}

SparseMlaInputs MlaInputs(const Batch& b) {
  SparseMlaInputs in;
  in.q_latent = {DType::kFloat32, {5, 2, 12}};
  in.q_rope = {DType::kFloat32, {5, 2, 4}};
  in.kv_latent = {DType::kFloat32, {5, 12}};
  in.k_rope = {DType::kFloat32, {5, 4}};
  in.latent_pool = b.pool;
  in.batch = b.Inputs();
  return in;
}

TEST(SparseMlaValidation, RejectsBadShapesTypesAndAttributes) {
  Batch b;
  EXPECT_EQ(ValidateSparseMla(MlaInputs(b), {0.1f}).topk, 0);
  auto in = MlaInputs(b);
  in.has_topk = true;
  in.topk_indices = {DType::kInt32, {5, 7}};
  EXPECT_EQ(ValidateSparseMla(in, {0.1f}).topk, 7);
  in.topk_indices = {DType::kInt32, {4, 7}};
  ExpectInputError([&] { ValidateSparseMla(in, {0.1f}); },
                   {"SparseMlaAttention: input 'topk_indices'", "dimension 0 = 5 (tokens from q_latent)", "got [4, 7]"});
  in.topk_indices = {DType::kInt64, {5, 7}};
  ExpectInputError([&] { ValidateSparseMla(in, {0.1f}); }, {"'topk_indices'", "expected int32", "got int64"});
  in = MlaInputs(b);
  in.latent_pool.shape = {4, 4, 15};
  ExpectInputError([&] { ValidateSparseMla(in, {0.1f}); },
                   {"'latent_pool'", "dimension 2 = 16 (kv_lora_rank + rope_dim)", "got [4, 4, 15]"});
  in = MlaInputs(b);
  in.k_rope.shape = {5, 5};
  ExpectInputError([&] { ValidateSparseMla(in, {0.1f}); }, {"'k_rope'", "dimension 1 = 4 (rope_dim from q_rope)"});
  in = MlaInputs(b);
  in.kv_latent.shape = {5, 11};
  ExpectInputError([&] { ValidateSparseMla(in, {0.1f}); }, {"'kv_latent'", "kv_lora_rank from q_latent"});
  in = MlaInputs(b);
  in.q_rope.shape = {5, 3, 4};
  ExpectInputError([&] { ValidateSparseMla(in, {0.1f}); }, {"'q_rope'", "dimension 1 = 2 (n_heads"});
  ExpectInputError([&] { ValidateSparseMla(MlaInputs(b), {0.0f}); }, {"attribute 'softmax_scale'"});
  // Rope tables: [T, rope_dim / 2] exactly (all of q_rope / k_rope rotates), both or neither.
  in = MlaInputs(b);
  EXPECT_FALSE(ValidateSparseMla(in, {0.1f}).rotate);
  in.rope = {true, true, {DType::kFloat32, {5, 2}}, {DType::kFloat32, {5, 2}}};
  EXPECT_TRUE(ValidateSparseMla(in, {0.1f}).rotate);
  in.rope.cos.shape = {5, 1};
  ExpectInputError([&] { ValidateSparseMla(in, {0.1f}); },
                   {"SparseMlaAttention: input 'rope_cos'", "dimension 1 = 2 (rope_dim / 2)", "got [5, 1]"});
  in.rope.cos = {DType::kFloat16, {5, 2}};
  ExpectInputError([&] { ValidateSparseMla(in, {0.1f}); }, {"'rope_cos'", "expected float", "got float16"});
  in.rope.has_cos = false;
  ExpectInputError([&] { ValidateSparseMla(in, {0.1f}); }, {"'rope_cos' is missing", "only rope_sin"});
  // q_latent as [T, n_heads * kv_lora_rank] (a grouped DenseProjection's output): n_heads from q_rope.
  in = MlaInputs(b);
  in.q_latent.shape = {5, 24};
  const SparseMlaShape flat = ValidateSparseMla(in, {0.1f});
  EXPECT_EQ(flat.n_heads, 2);
  EXPECT_EQ(flat.kv_lora_rank, 12);
  in.q_latent.shape = {5, 25};
  ExpectInputError([&] { ValidateSparseMla(in, {0.1f}); }, {"'q_latent'", "not n_heads x kv_lora_rank", "[5, 25]"});
  in.q_latent.shape = {5, 2, 12, 1};
  ExpectInputError([&] { ValidateSparseMla(in, {0.1f}); }, {"'q_latent'", "wrong rank"});
  in.q_latent.shape = {5, 24};
  in.q_rope.shape = {5, 2};  // a flat q_latent takes n_heads from q_rope, which must be [T, n_heads, rope_dim]
  ExpectInputError([&] { ValidateSparseMla(in, {0.1f}); }, {"'q_rope'", "n_heads for a 2-D q_latent", "got [5, 2]"});
  in = MlaInputs(b);
  in.q_latent.shape = {5, 2, 0};
  ExpectInputError([&] { ValidateSparseMla(in, {0.1f}); }, {"'q_latent'", "kv_lora_rank"});
}

}  // namespace
}  // namespace glm_ops
