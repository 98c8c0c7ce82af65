// SparseMlaAttention against the reference (src/reference: double precision, explicit softmax) with and without a
// selection, over head counts, widths (including ones that are not multiples of 8), block sizes and mixed batches.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "cpu/sparse_mla_attention.h"
#include "paged_layout.h"
#include "reference/sparse_mla_attention.h"
#include "rope_cases.h"
#include "test_support.h"

namespace glm_ops {
namespace {

struct MlaProblem {
  int64_t heads, rank, rope;
  std::vector<int64_t> past, fresh;
  std::vector<std::vector<float>> rows;  // per sequence: (past + new) x (rank + rope), logical order
  std::vector<float> q_latent, q_rope;   // per new token
};

MlaProblem MakeMla(std::mt19937& rng, int64_t heads, int64_t rank, int64_t rope, std::vector<int64_t> past,
                   std::vector<int64_t> fresh) {
  MlaProblem p{heads, rank, rope, past, fresh, {}, {}, {}};
  int64_t tokens = 0;
  for (size_t b = 0; b < past.size(); ++b) {
    p.rows.push_back(test::RandomFloats(rng, (past[b] + fresh[b]) * (rank + rope)));
    tokens += fresh[b];
  }
  p.q_latent = test::RandomFloats(rng, tokens * heads * rank, -2.0f, 2.0f);
  p.q_rope = test::RandomFloats(rng, tokens * heads * rope, -2.0f, 2.0f);
  return p;
}

struct MlaRun {
  std::vector<float> out, pool;
  test::PagedLayout layout;
  std::vector<double> expected;  // the reference's output (src/reference), [T, heads, rank]
};

MlaRun RunMla(std::mt19937& rng, const MlaProblem& p, int64_t block_size, const std::vector<int32_t>* topk,
              int64_t k, float scale, const test::RopeCase* rope = nullptr) {
  MlaRun run;
  run.layout = test::MakeLayout(rng, p.past, p.fresh, block_size);
  const test::PagedLayout& L = run.layout;
  const int64_t width = p.rank + p.rope;
  run.pool.assign(static_cast<size_t>(L.num_blocks * block_size * width), 1e6f);
  std::vector<float> kv, kr;
  for (size_t b = 0; b < p.past.size(); ++b) {
    for (int64_t t = 0; t < p.past[b]; ++t) std::copy_n(&p.rows[b][t * width], width, &run.pool[L.Row(b, t) * width]);
    for (int64_t t = p.past[b]; t < p.past[b] + p.fresh[b]; ++t) {
      kv.insert(kv.end(), p.rows[b].begin() + t * width, p.rows[b].begin() + t * width + p.rank);
      kr.insert(kr.end(), p.rows[b].begin() + t * width + p.rank, p.rows[b].begin() + (t + 1) * width);
    }
  }
  SparseMlaInputs in;
  in.q_latent = {DType::kFloat32, {L.tokens, p.heads, p.rank}};
  in.q_rope = {DType::kFloat32, {L.tokens, p.heads, p.rope}};
  in.kv_latent = {DType::kFloat32, {L.tokens, p.rank}};
  in.k_rope = {DType::kFloat32, {L.tokens, p.rope}};
  in.latent_pool = {DType::kFloat32, {L.num_blocks, block_size, width}};
  in.batch = L.Inputs();
  in.has_topk = topk != nullptr;
  if (topk) in.topk_indices = {DType::kInt32, {L.tokens, k}};
  // The problem's q_rope and new rope rows are the rotated truth; with `rope` the op gets them turned back.
  std::vector<float> qr = p.q_rope;
  const RopeTables tables = test::UnrotateForTables(rope, L.tokens, p.heads, p.rope, in.rope, qr, kr);
  const SparseMlaShape shape = ValidateSparseMla(in, {scale});
  run.out.assign(static_cast<size_t>(L.tokens * p.heads * p.rank), -9.0f);
  std::vector<float> reference_pool = run.pool;
  run.expected = reference::SparseMlaAttention(shape, p.q_latent.data(), qr.data(), kv.data(), kr.data(), tables,
                                               reference_pool.data(), topk ? topk->data() : nullptr);
  cpu::SparseMlaAttention(test::Threads(), shape, p.q_latent.data(), qr.data(), kv.data(), kr.data(), tables,
                          run.pool.data(), topk ? topk->data() : nullptr, run.out.data());
  return run;
}

// Every output element against the reference, and every new row in its pool row (exactly, or within `row_tolerance`
// where the op rotated the row's rope part itself).
void CheckMla(const MlaProblem& p, const MlaRun& run, float row_tolerance = 0.0f) {
  const test::PagedLayout& L = run.layout;
  const int64_t width = p.rank + p.rope;
  for (int64_t b = 0; b < L.Sequences(); ++b)
    for (int64_t j = 0; j < p.fresh[b]; ++j) {
      const int64_t token = L.cu[b] + j, position = p.past[b] + j;
      for (int64_t h = 0; h < p.heads; ++h)
        for (int64_t d = 0; d < p.rank; ++d) {
          const double expected = run.expected[(token * p.heads + h) * p.rank + d];
          const float got = run.out[(token * p.heads + h) * p.rank + d];
          ASSERT_NEAR(got, expected, 2e-5 + 2e-5 * std::abs(expected))
              << "seq " << b << " token " << token << " head " << h << " dim " << d;
        }
      for (int64_t d = 0; d < width; ++d)
        ASSERT_NEAR(run.pool[L.Row(b, position) * width + d], p.rows[b][position * width + d], row_tolerance)
            << "new row not written";
    }
}

// A selection per token: some causal positions, some future ones (ignored), -1 padding; K may exceed the context.
std::vector<int32_t> RandomSelection(std::mt19937& rng, const MlaProblem& p, int64_t k) {
  std::vector<int32_t> sel;
  for (size_t b = 0; b < p.past.size(); ++b)
    for (int64_t j = 0; j < p.fresh[b]; ++j) {
      const int64_t position = p.past[b] + j;
      std::vector<int32_t> candidates(static_cast<size_t>(p.past[b] + p.fresh[b]));
      std::iota(candidates.begin(), candidates.end(), 0);
      std::shuffle(candidates.begin(), candidates.end(), rng);
      for (int64_t s = 0; s < k; ++s) {
        if (s < static_cast<int64_t>(candidates.size()) && (candidates[s] <= position || s % 3 == 0))
          sel.push_back(candidates[s]);
        else
          sel.push_back(-1);
      }
    }
  return sel;
}

TEST(SparseMlaAttention, DenseMatchesReferenceOverGrid) {
  std::mt19937 rng(21);
  struct Case {
    int64_t heads, rank, rope;
  };
  for (Case c : {Case{1, 8, 8}, Case{3, 20, 6}, Case{16, 64, 16}, Case{5, 13, 3}}) {
    for (int64_t block_size : {1, 4, 16, 64}) {
      const MlaProblem p = MakeMla(rng, c.heads, c.rank, c.rope, {0, 17, 70, 2}, {6, 1, 2, 9});
      const float scale = 1.0f / std::sqrt(static_cast<float>(c.rank));
      const MlaRun run = RunMla(rng, p, block_size, nullptr, 0, scale);
      SCOPED_TRACE("heads " + std::to_string(c.heads) + " rank " + std::to_string(c.rank) + " block " +
                   std::to_string(block_size));
      CheckMla(p, run);
    }
  }
}

TEST(SparseMlaAttention, SelectedPositionsMatchReference) {
  std::mt19937 rng(22);
  for (int64_t block_size : {1, 16, 64}) {
    for (int64_t k : {1, 5, 32, 300}) {
      const MlaProblem p = MakeMla(rng, 8, 32, 8, {40, 0, 200}, {1, 7, 3});
      const std::vector<int32_t> sel = RandomSelection(rng, p, k);
      const MlaRun run = RunMla(rng, p, block_size, &sel, k, 0.125f);
      SCOPED_TRACE("block " + std::to_string(block_size) + " k " + std::to_string(k));
      CheckMla(p, run);
    }
  }
}

TEST(SparseMlaAttention, PrefillHeadBlocksMatchReference) {
  // A prefill of many tokens at once: the AVX-512 kernel's head blocks of 4 (full, and tails of 1-3 heads), latent
  // and rope widths at, above and below multiples of 16 (masked tails), contexts that end mid-tile, top-k below and
  // above the context, and 70 heads (more than one head group of 64).
  std::mt19937 rng(25);
  struct Case {
    int64_t heads, rank, rope, k;
  };
  for (Case c : {Case{16, 256, 64, 0}, Case{7, 48, 16, 0}, Case{6, 40, 24, 13}, Case{5, 33, 7, 64},
                 Case{70, 32, 16, 9}, Case{9, 16, 1, 300}}) {
    const MlaProblem p = MakeMla(rng, c.heads, c.rank, c.rope, {0, 11}, {37, 21});
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.rank + c.rope));
    const std::vector<int32_t> sel = RandomSelection(rng, p, c.k);
    const MlaRun run = RunMla(rng, p, 16, c.k ? &sel : nullptr, c.k, scale);
    SCOPED_TRACE("heads " + std::to_string(c.heads) + " rank " + std::to_string(c.rank) + " rope " +
                 std::to_string(c.rope) + " k " + std::to_string(c.k));
    CheckMla(p, run);
  }
}

TEST(SparseMlaAttention, TileBoundariesMatchReference) {
  // Decode tokens attending to 15, 16, 17, 31, 32, 33 and 8 / 9 positions: tiles of 8 (AVX2) and 16 (AVX-512) rows
  // end full, one row short and one row over, with the last tile's valid rows in either half of a 16-row tile;
  // and the same with a selection whose -1 padding and future positions fall inside tiles.
  std::mt19937 rng(26);
  const MlaProblem p = MakeMla(rng, 5, 40, 8, {14, 15, 16, 30, 31, 32, 7, 8}, {1, 1, 1, 1, 1, 1, 1, 1});
  const float scale = 1.0f / std::sqrt(48.0f);
  CheckMla(p, RunMla(rng, p, 16, nullptr, 0, scale));
  for (int64_t k : {17, 33}) {
    const std::vector<int32_t> sel = RandomSelection(rng, p, k);
    SCOPED_TRACE("k " + std::to_string(k));
    CheckMla(p, RunMla(rng, p, 4, &sel, k, scale));
  }
}

TEST(SparseMlaAttention, DecodeSplitsMatchReference) {
  // One to three decode tokens against long contexts: too few (token, head group) items for the threads, so each
  // token's attended positions split into ranges merged afterwards. Dense walks and selections (with -1 padding and
  // future positions, so the splits share the compacted causal entries), 1 / 5 / 16 / 70 heads (70: two head
  // groups), widths off multiples of 16, a context shorter than a split, and a token whose selection holds no valid
  // position beside tokens whose selections do.
  std::mt19937 rng(28);
  struct Case {
    int64_t heads, rank, rope;
    std::vector<int64_t> past;
  };
  for (const Case& c : {Case{1, 16, 8, {300}}, Case{16, 64, 16, {1000}}, Case{5, 33, 7, {129, 700}},
                        Case{70, 32, 16, {200}}, Case{3, 24, 8, {130, 3, 520}}}) {
    const std::vector<int64_t> fresh(c.past.size(), 1);
    const MlaProblem p = MakeMla(rng, c.heads, c.rank, c.rope, c.past, fresh);
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.rank + c.rope));
    SCOPED_TRACE("heads " + std::to_string(c.heads) + " rank " + std::to_string(c.rank) + " contexts " +
                 std::to_string(c.past.size()));
    CheckMla(p, RunMla(rng, p, 16, nullptr, 0, scale));
    for (int64_t k : {256, 2048}) {
      std::vector<int32_t> sel = RandomSelection(rng, p, k);
      if (c.past.size() == 3)  // the middle token (position 3) attends nothing
        std::fill(sel.begin() + k, sel.begin() + 2 * k, -1);
      SCOPED_TRACE("k " + std::to_string(k));
      CheckMla(p, RunMla(rng, p, 4, &sel, k, scale));
    }
  }
}

TEST(SparseMlaAttention, LongContextsInAPrefillMatchReference) {
  // Enough tokens to keep every thread busy without chunk items, at contexts past a chunk (256 attended positions):
  // each token runs its chunks one after the other and merges them; dense walks and selections of 700 (causal ones
  // counted across chunk boundaries, -1 padding and future positions skipped).
  std::mt19937 rng(29);
  const MlaProblem p = MakeMla(rng, 6, 40, 8, {600, 255, 0}, {9, 3, 20});
  const float scale = 1.0f / std::sqrt(48.0f);
  CheckMla(p, RunMla(rng, p, 16, nullptr, 0, scale));
  const std::vector<int32_t> sel = RandomSelection(rng, p, 700);
  CheckMla(p, RunMla(rng, p, 16, &sel, 700, scale));
}

TEST(SparseMlaAttention, TokenResultDoesNotDependOnTheBatch) {
  // A long-context token decoded alone (its chunks spread over the pool as items, merged afterwards) and the same
  // token among 20 others (its chunks run in turn in one work item) give the same bits: chunk boundaries and the merge
  // order belong to the token, not to the call. Contexts of 4 chunks of 256 and of 5001 positions (16 longer chunks).
  std::mt19937 rng(30);
  for (auto [context, k] : {std::pair<int64_t, int64_t>{1000, 0}, {1000, 900}, {5000, 0}, {5000, 4500}}) {
    const MlaProblem alone = MakeMla(rng, 9, 48, 16, {context}, {1});
    std::vector<int64_t> past{context}, fresh{1};
    for (int i = 0; i < 20; ++i) {
      past.push_back(30 + i);
      fresh.push_back(1);
    }
    MlaProblem batch = MakeMla(rng, 9, 48, 16, past, fresh);
    batch.rows[0] = alone.rows[0];
    std::copy(alone.q_latent.begin(), alone.q_latent.end(), batch.q_latent.begin());
    std::copy(alone.q_rope.begin(), alone.q_rope.end(), batch.q_rope.begin());
    std::vector<int32_t> sel_alone, sel_batch;
    if (k) {
      sel_alone = RandomSelection(rng, alone, k);
      sel_batch = RandomSelection(rng, batch, k);
      std::copy(sel_alone.begin(), sel_alone.end(), sel_batch.begin());
    }
    const MlaRun one = RunMla(rng, alone, 16, k ? &sel_alone : nullptr, k, 0.1f);
    const MlaRun many = RunMla(rng, batch, 16, k ? &sel_batch : nullptr, k, 0.1f);
    CheckMla(alone, one);
    CheckMla(batch, many);
    const size_t row = static_cast<size_t>(alone.heads * alone.rank);
    for (size_t i = 0; i < row; ++i)
      ASSERT_EQ(one.out[i], many.out[i]) << "context " << context << " k " << k << " element " << i;
  }
}

TEST(SparseMlaAttention, RopeTablesRotateTheQueryAndTheNewKeys) {
  // Unrotated q_rope / k_rope with tables must give what the rotated ones give without: the reference (which rotates
  // by its own code) and the problem's rotated rows in the pool; prefill and decode tokens, with and without a
  // selection, rope widths 2 / 8 / 64.
  std::mt19937 rng(27);
  struct Case {
    int64_t heads, rank, rope, k;
  };
  for (Case c : {Case{4, 16, 8, 0}, Case{3, 24, 2, 5}, Case{16, 64, 64, 0}, Case{16, 64, 64, 9}}) {
    const MlaProblem p = MakeMla(rng, c.heads, c.rank, c.rope, {0, 11, 40}, {9, 1, 3});
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.rank + c.rope));
    const std::vector<int32_t> sel = RandomSelection(rng, p, c.k);
    const test::RopeCase rope = test::RandomRope(rng, 13, c.rope);
    const MlaRun rotated_here = RunMla(rng, p, 4, c.k ? &sel : nullptr, c.k, scale, &rope);
    SCOPED_TRACE("heads " + std::to_string(c.heads) + " rope " + std::to_string(c.rope) + " k " + std::to_string(c.k));
    CheckMla(p, rotated_here, 2e-6f);
    const MlaRun rotated_before = RunMla(rng, p, 4, c.k ? &sel : nullptr, c.k, scale);
    for (size_t i = 0; i < rotated_here.out.size(); ++i)
      ASSERT_NEAR(rotated_here.out[i], rotated_before.out[i], 2e-5 + 2e-5 * std::abs(rotated_before.out[i])) << i;
  }
}

TEST(SparseMlaAttention, LargeLogitsStayFinite) {
  // Scores around 1e3 overflow a naive exp; the max-subtracted softmax must stay finite and match the reference.
  std::mt19937 rng(23);
  MlaProblem p = MakeMla(rng, 4, 16, 8, {50}, {2});
  for (float& v : p.q_latent) v *= 200.0f;
  const MlaRun run = RunMla(rng, p, 8, nullptr, 0, 1.0f);
  for (float v : run.out) ASSERT_TRUE(std::isfinite(v));
  CheckMla(p, run);
}

TEST(SparseMlaAttention, TokenWithNoValidPositionGetsZeros) {
  std::mt19937 rng(24);
  const MlaProblem p = MakeMla(rng, 2, 8, 8, {3}, {1});
  const std::vector<int32_t> sel{-1, 9, -1};  // 9 is in the future for position 3
  const MlaRun run = RunMla(rng, p, 4, &sel, 3, 0.5f);
  for (float v : run.out) EXPECT_EQ(v, 0.0f);
}

}  // namespace
}  // namespace glm_ops
