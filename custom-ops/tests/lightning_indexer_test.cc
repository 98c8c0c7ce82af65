// LightningIndexer against the reference scores (src/reference: double precision) over a grid of head counts, widths,
// block sizes, batches of sequences with different past lengths, and index_topk below and above the context.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "cpu/lightning_indexer.h"
#include "paged_layout.h"
#include "reference/lightning_indexer.h"
#include "rope_cases.h"
#include "test_support.h"

namespace glm_ops {
namespace {

// One indexer problem in logical (unpaged) form: every sequence's full key list, and the new tokens' q / weights.
struct IndexerProblem {
  int64_t heads, dim;
  std::vector<int64_t> past, fresh;
  std::vector<std::vector<float>> keys;  // per sequence: (past + new) x dim
  std::vector<float> q, w;               // per new token (packed in sequence order)
};

IndexerProblem MakeProblem(std::mt19937& rng, int64_t heads, int64_t dim, std::vector<int64_t> past,
                           std::vector<int64_t> fresh) {
  IndexerProblem p{heads, dim, past, fresh, {}, {}, {}};
  int64_t tokens = 0;
  for (size_t b = 0; b < past.size(); ++b) {
    p.keys.push_back(test::RandomFloats(rng, (past[b] + fresh[b]) * dim));
    tokens += fresh[b];
  }
  p.q = test::RandomFloats(rng, tokens * heads * dim);
  p.w = test::RandomFloats(rng, tokens * heads, -0.5f, 1.0f);
  return p;
}

struct IndexerRun {
  std::vector<int32_t> topk;
  std::vector<float> pool;
  test::PagedLayout layout;
  std::vector<std::vector<double>> scores;  // reference scores per new token, over its causal positions
  std::vector<float> reference_pool;        // with rope tables: the pool after the reference op rotated the keys
};

// Lays the problem out in a paged pool (past rows pre-filled, new rows garbage) and runs the kernel.
// With `rope`, the problem's q and new keys are the rotated truth and the kernel gets them turned back with the
// tables (so it must rotate them itself); the reference scores stay those of the truth.
IndexerRun RunKernel(std::mt19937& rng, const IndexerProblem& p, int64_t block_size, int64_t topk,
                     const test::RopeCase* rope = nullptr) {
  IndexerRun run;
  run.layout = test::MakeLayout(rng, p.past, p.fresh, block_size);
  const test::PagedLayout& L = run.layout;
  run.pool.assign(static_cast<size_t>(L.num_blocks * block_size * p.dim), 1e6f);
  std::vector<float> k_new;
  for (size_t b = 0; b < p.past.size(); ++b) {
    for (int64_t t = 0; t < p.past[b]; ++t)
      std::copy_n(&p.keys[b][t * p.dim], p.dim, &run.pool[L.Row(b, t) * p.dim]);
    k_new.insert(k_new.end(), p.keys[b].begin() + p.past[b] * p.dim, p.keys[b].end());
  }
  LightningIndexerInputs in;
  in.index_q = {DType::kFloat32, {L.tokens, p.heads, p.dim}};
  in.index_k = {DType::kFloat32, {L.tokens, p.dim}};
  in.head_weights = {DType::kFloat32, {L.tokens, p.heads}};
  in.index_pool = {DType::kFloat32, {L.num_blocks, block_size, p.dim}};
  in.batch = L.Inputs();
  std::vector<float> q = p.q, k = k_new;
  const RopeTables tables = test::UnrotateForTables(rope, L.tokens, p.heads, p.dim, in.rope, q, k);
  const LightningIndexerShape shape = ValidateLightningIndexer(in, {topk, std::nullopt});
  run.topk.assign(static_cast<size_t>(L.tokens * topk), -7);
  std::vector<float> reference_pool = run.pool;
  reference::WriteIndexerKeys(shape, k_new.data(), reference_pool.data());
  for (int64_t t = 0; t < L.tokens; ++t)
    run.scores.push_back(reference::IndexerScores(shape, p.q.data(), p.w.data(), reference_pool.data(), t));
  cpu::LightningIndexer(test::Threads(), shape, q.data(), k.data(), p.w.data(), tables, run.pool.data(),
                        run.topk.data());
  if (rope) {
    std::vector<int32_t> unused(run.topk.size());
    run.reference_pool = reference_pool;
    reference::LightningIndexer(shape, q.data(), k.data(), p.w.data(), tables, run.reference_pool.data(),
                                unused.data());
  }
  return run;
}

// Checks one token's row: causal, distinct, the right count, -1 padding, and the same set as the reference up to
// near-ties at the cut (float vs double scores), in descending reference-score order.
void CheckRow(const std::vector<double>& ref, const int32_t* row, int64_t topk, int64_t token, int64_t position) {
  const int64_t keys = position + 1;
  if (keys <= topk) {
    for (int64_t t = 0; t < topk; ++t) ASSERT_EQ(row[t], t < keys ? t : -1) << "token " << token;
    return;
  }
  std::vector<int64_t> order(ref.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return ref[x] > ref[y]; });
  const double cut = ref[order[topk - 1]];
  const double tol = 1e-4 * (1.0 + std::abs(cut));
  std::set<int32_t> seen;
  for (int64_t k = 0; k < topk; ++k) {
    const int32_t t = row[k];
    ASSERT_GE(t, 0) << "token " << token << " slot " << k;
    ASSERT_LE(t, position) << "token " << token << " selected a future position";
    ASSERT_TRUE(seen.insert(t).second) << "duplicate position " << t;
    EXPECT_GE(ref[t], cut - tol) << "token " << token << " selected a low-scoring position " << t;
    if (k > 0) EXPECT_GE(ref[row[k - 1]], ref[t] - tol) << "row not in descending score order";
  }
  for (int64_t k = 0; k < topk; ++k)
    if (!seen.count(static_cast<int32_t>(order[k]))) EXPECT_LE(ref[order[k]], cut + tol) << "missed " << order[k];
}

// Every token's row, and every new key in its pool row (exactly, or within `key_tolerance` where the op rotated it).
void CheckAll(const IndexerProblem& p, const IndexerRun& run, int64_t topk, float key_tolerance = 0.0f) {
  const test::PagedLayout& L = run.layout;
  for (int64_t b = 0; b < L.Sequences(); ++b)
    for (int64_t j = 0; j < p.fresh[b]; ++j) {
      const int64_t token = L.cu[b] + j;
      CheckRow(run.scores[token], &run.topk[token * topk], topk, token, p.past[b] + j);
      // The new key landed in its pool row.
      for (int64_t d = 0; d < p.dim; ++d) {
        const float truth = p.keys[b][(p.past[b] + j) * p.dim + d];
        ASSERT_NEAR(run.pool[L.Row(b, p.past[b] + j) * p.dim + d], truth, key_tolerance);
        if (!run.reference_pool.empty())
          ASSERT_NEAR(run.reference_pool[L.Row(b, p.past[b] + j) * p.dim + d], truth, key_tolerance) << "reference";
      }
    }
}

TEST(LightningIndexer, MatchesReferenceOverGrid) {
  std::mt19937 rng(11);
  struct Case {
    int64_t heads, dim;
  };
  // Heads run in vectors of 8 (padded), four vectors per pass: 1-3 leftover vectors (12, 20 heads) and a full pass
  // plus one (40 heads) besides the single-vector and exact cases.
  for (Case c : {Case{1, 8}, Case{3, 12}, Case{4, 16}, Case{32, 128}, Case{6, 5}, Case{12, 8}, Case{20, 16},
                 Case{40, 8}}) {
    for (int64_t block_size : {1, 4, 16, 64}) {
      for (int64_t topk : {1, 7, 64, 2000}) {
        const IndexerProblem p = MakeProblem(rng, c.heads, c.dim, {0, 9, 130, 3}, {5, 1, 3, 40});
        const IndexerRun run = RunKernel(rng, p, block_size, topk);
        SCOPED_TRACE("heads " + std::to_string(c.heads) + " dim " + std::to_string(c.dim) + " block " +
                     std::to_string(block_size) + " topk " + std::to_string(topk));
        CheckAll(p, run, topk);
      }
    }
  }
}

TEST(LightningIndexer, SixteenLaneHeadVectorsAndKeyTails) {
  // The AVX-512 kernel's shapes: heads in 16-lane vectors, two per pass (16, 32, 64 exact; 17, 33, 48, 70 with a
  // padded or single leftover vector), keys in blocks of 8 with 4 / 2 / 1-key tails (contexts 1-47 and past one
  // 512-key work item), dims that are not multiples of 8.
  std::mt19937 rng(15);
  struct Case {
    int64_t heads, dim;
  };
  for (Case c : {Case{16, 16}, Case{17, 8}, Case{32, 64}, Case{33, 12}, Case{48, 5}, Case{64, 24}, Case{70, 8}}) {
    const IndexerProblem p = MakeProblem(rng, c.heads, c.dim, {0, 20, 519, 7}, {27, 1, 9, 2});
    for (int64_t topk : {1, 5, 300}) {
      const IndexerRun run = RunKernel(rng, p, 16, topk);
      SCOPED_TRACE("heads " + std::to_string(c.heads) + " dim " + std::to_string(c.dim) + " topk " +
                   std::to_string(topk));
      CheckAll(p, run, topk);
    }
  }
}

TEST(LightningIndexer, RopeTablesRotateTheQueryAndTheNewKeys) {
  // Unrotated q / k with tables against the rotated truth's reference scores: the first rotary_dim dims of each head
  // rotate (all of them, some, one pair), the rest pass through; prefill and decode tokens.
  std::mt19937 rng(16);
  struct Case {
    int64_t heads, dim, rotary;
  };
  for (Case c : {Case{4, 16, 8}, Case{32, 128, 64}, Case{3, 12, 12}, Case{6, 10, 2}}) {
    const IndexerProblem p = MakeProblem(rng, c.heads, c.dim, {0, 9, 130}, {12, 1, 3});
    const test::RopeCase rope = test::RandomRope(rng, 16, c.rotary);
    for (int64_t topk : {5, 300}) {
      const IndexerRun run = RunKernel(rng, p, 4, topk, &rope);
      SCOPED_TRACE("heads " + std::to_string(c.heads) + " dim " + std::to_string(c.dim) + " rotary " +
                   std::to_string(c.rotary) + " topk " + std::to_string(topk));
      CheckAll(p, run, topk, 2e-6f);
    }
  }
}

TEST(LightningIndexer, LongContextSpansManyWorkItems) {
  std::mt19937 rng(12);
  const IndexerProblem p = MakeProblem(rng, 8, 32, {3000, 1500}, {1, 2});
  const IndexerRun run = RunKernel(rng, p, 16, 100);
  CheckAll(p, run, 100);
}

TEST(LightningIndexer, NeverSelectsAFuturePosition) {
  // A prefill chunk whose later keys score far above every earlier key for every query: a kernel that leaked
  // future keys would pick them first.
  std::mt19937 rng(13);
  IndexerProblem p = MakeProblem(rng, 4, 16, {6, 0}, {10, 12});
  for (size_t b = 0; b < p.keys.size(); ++b) {
    const int64_t length = p.past[b] + p.fresh[b];
    for (int64_t t = 0; t < length; ++t)
      for (int64_t d = 0; d < p.dim; ++d) p.keys[b][t * p.dim + d] = 0.01f * static_cast<float>(t * t);
  }
  for (float& v : p.q) v = std::abs(v);
  for (float& v : p.w) v = std::abs(v) + 0.1f;
  const IndexerRun run = RunKernel(rng, p, 4, 3);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t j = 0; j < p.fresh[b]; ++j) {
      const int64_t position = p.past[b] + j;
      const int32_t* row = &run.topk[(run.layout.cu[b] + j) * 3];
      for (int k = 0; k < 3; ++k) {
        ASSERT_LE(row[k], position);
        if (position + 1 > 3) EXPECT_EQ(row[k], position - k) << "the latest causal keys score highest";
      }
    }
}

TEST(LightningIndexer, ResultsDoNotDependOnBlockSizeOrBatchComposition) {
  std::mt19937 rng(14);
  // Sequence A alone, and A inside a batch with two other sequences, at several block sizes: A's rows must match
  // bit for bit.
  const IndexerProblem alone = MakeProblem(rng, 8, 24, {77}, {4});
  IndexerProblem batched = MakeProblem(rng, 8, 24, {12, 77, 300}, {2, 4, 1});
  batched.keys[1] = alone.keys[0];
  const int64_t a_token = 2;  // first token of sequence 1 in the batch
  std::copy(alone.q.begin(), alone.q.end(), batched.q.begin() + a_token * 8 * 24);
  std::copy(alone.w.begin(), alone.w.end(), batched.w.begin() + a_token * 8);
  const int64_t topk = 20;
  const IndexerRun reference = RunKernel(rng, alone, 16, topk);
  for (int64_t block_size : {1, 5, 16, 64}) {
    const IndexerRun one = RunKernel(rng, alone, block_size, topk);
    EXPECT_EQ(one.topk, reference.topk) << "block size " << block_size;
    const IndexerRun many = RunKernel(rng, batched, block_size, topk);
    const std::vector<int32_t> a_rows(many.topk.begin() + a_token * topk, many.topk.begin() + (a_token + 4) * topk);
    EXPECT_EQ(a_rows, reference.topk) << "batched, block size " << block_size;
  }
}

}  // namespace
}  // namespace glm_ops
