#include "cpu/sparse_mla_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "cpu/isa_dispatch.h"
#include "cpu/rope.h"
#include "cpu/sparse_mla_kernels.h"

namespace glm_ops::cpu {

namespace {

constexpr int kMaxTile = kSparseMlaMaxTile;
// Heads per work item at most: their running states live on the stack.
constexpr int64_t kMaxHeadGroup = 64;
// A token attending more than kChunkPositions positions takes them in chunks, each from a fresh softmax state, and
// merges the chunks' results in order (MergeChunks), whether one work item runs them one after the other or several
// run them side by side: a token's result does not depend on the other tokens of the call or the threads. Chunks hold
// kChunkPositions positions, more for a walk past kMaxChunks of those (its scratch stays bounded), always a multiple
// of every kernel's tile rows, so chunks end on tile boundaries.
constexpr int64_t kChunkPositions = 256;
constexpr int64_t kMaxChunks = 16;
static_assert(kChunkPositions % kMaxTile == 0, "chunks end on tile boundaries");
// Bytes of chunk results a decode call may keep to run its chunks as work items of their own (else in turn).
constexpr int64_t kSplitBytes = int64_t{32} << 20;

// Whether a selected position takes part for a token at `position`: -1 padding and future positions do not.
bool Attends(int64_t selected, int64_t position) { return selected >= 0 && selected <= position; }

// Walks entries [first, last) of one token's attended positions: of its selection (causal ones only), or of the
// positions 0..position when there is no selection.
class PositionCursor {
 public:
  PositionCursor(const int32_t* selection, int64_t position, int64_t first, int64_t last, int tile)
      : selection_(selection),
        position_(position),
        next_(first),
        last_(selection ? last : std::min(last, position + 1)),
        tile_(tile) {}

  // Fills up to `tile` positions; returns how many.
  int Next(int64_t* positions) {
    int n = 0;
    if (!selection_) {
      while (n < tile_ && next_ < last_) positions[n++] = next_++;
      return n;
    }
    while (n < tile_ && next_ < last_) {
      const int64_t p = selection_[next_++];
      if (Attends(p, position_)) positions[n++] = p;
    }
    return n;
  }

 private:
  const int32_t* selection_;
  int64_t position_;
  int64_t next_;
  int64_t last_;
  int tile_;
};

// Heads [head_begin, head_end) of one token over the cursor's next `limit` positions (fewer where its walk ends):
// o [heads, rank] unnormalised and the heads' softmax states, from a fresh state (nothing attended: o zero, sums
// zero). `limit` is a multiple of the tile rows, so the tiles are those of a walk from the chunk's start.
void AttendChunk(const SparseMlaKernels& kernels, const SparseMlaShape& s, const float* pool, int64_t sequence,
                 PositionCursor& cursor, int64_t limit, const float* q_latent, const float* q_rope, int64_t head_begin,
                 int64_t head_end, float* o, SparseMlaHeadState* state) {
  const int64_t rank = s.kv_lora_rank, rope = s.rope_dim, width = rank + rope;
  const int64_t heads = head_end - head_begin;
  std::fill(o, o + heads * rank, 0.0f);
  for (int64_t h = 0; h < heads; ++h) state[h] = {-std::numeric_limits<float>::infinity(), 0.0f};

  const int tile = kernels.tile_rows;
  int64_t positions[kMaxTile];
  const float* rows[kMaxTile];
  for (int64_t done = 0; done < limit;) {
    const int n = cursor.Next(positions);
    if (n == 0) break;
    for (int j = 0; j < n; ++j) rows[j] = pool + s.batch.PoolRow(sequence, positions[j]) * width;
    for (int j = n; j < tile; ++j) rows[j] = rows[0];
    kernels.attend_tile(rows, n, heads, q_latent + head_begin * rank, q_rope + head_begin * rope, rank, rope,
                        s.softmax_scale, state, o);
    done += n;
  }
}

// out[h] = o[h] / sum[h] for each head (zeros where no position was attended).
void Normalize(const SparseMlaHeadState* state, int64_t heads, int64_t rank, float* o) {
  for (int64_t h = 0; h < heads; ++h) {
    if (state[h].sum <= 0.0f) continue;  // no attended position: zeros
    const float inv = 1.0f / state[h].sum;
    for (int64_t d = 0; d < rank; ++d) o[h * rank + d] *= inv;
  }
}

// One head's chunks merged in order: out = sum_i e^(m_i - M) o_i / sum_i e^(m_i - M) s_i, M the largest m_i of a chunk
// that attended anything (o_i, s_i, m_i: chunk i's unnormalised output, sum and maximum; o_i at stride `o_stride`).
// One chunk gives Normalize's bits.
void MergeChunks(const float* o, int64_t o_stride, const SparseMlaHeadState* state, int64_t state_stride,
                 int64_t chunks, int64_t rank, float* out) {
  float top = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < chunks; ++i)
    if (state[i * state_stride].sum > 0.0f) top = std::max(top, state[i * state_stride].max);
  std::fill(out, out + rank, 0.0f);
  float total = 0.0f;
  for (int64_t i = 0; i < chunks; ++i) {
    const SparseMlaHeadState& st = state[i * state_stride];
    if (st.sum <= 0.0f) continue;
    const float weight = std::exp(st.max - top);
    total += weight * st.sum;
    const float* oi = o + i * o_stride;
    for (int64_t d = 0; d < rank; ++d) out[d] += weight * oi[d];
  }
  if (total <= 0.0f) return;  // no attended position: zeros
  const float inv = 1.0f / total;
  for (int64_t d = 0; d < rank; ++d) out[d] *= inv;
}

// Attended positions of one token: a selection's causal entries, or the positions 0..position.
int64_t AttendedCount(const int32_t* selection, int64_t topk, int64_t position) {
  if (!selection) return position + 1;
  int64_t n = 0;
  for (int64_t k = 0; k < topk; ++k) n += Attends(selection[k], position);
  return n;
}

// Positions per chunk of a token attending `attended` positions, and its number of chunks (at least one).
int64_t ChunkLength(int64_t attended) {
  const int64_t spread = (attended + kMaxChunks - 1) / kMaxChunks;
  return std::max(kChunkPositions, (spread + kMaxTile - 1) / kMaxTile * kMaxTile);
}
int64_t ChunksOf(int64_t attended) {
  const int64_t length = ChunkLength(attended);
  return std::max<int64_t>(1, (attended + length - 1) / length);
}

// What the chunks of a call keep: their unnormalised outputs [chunks, heads, rank] and states [chunks, heads].
struct ChunkResults {
  std::vector<float> o;
  std::vector<SparseMlaHeadState> state;

  void Reset(int64_t chunks, int64_t heads, int64_t rank) {
    o.resize(static_cast<size_t>(chunks * heads * rank));
    state.resize(static_cast<size_t>(chunks * heads));
  }
};

// Heads [head_begin, head_end) of one token over all its attended positions into out [heads, rank]: its chunks one
// after the other, normalised in place when there is one, else merged from `chunks`.
void AttendToken(const SparseMlaKernels& kernels, const SparseMlaShape& s, const float* pool, int64_t sequence,
                 int64_t position, const int32_t* selection, const float* q_latent, const float* q_rope,
                 int64_t head_begin, int64_t head_end, float* out, ChunkResults& chunks) {
  const int64_t heads = head_end - head_begin, rank = s.kv_lora_rank;
  const int64_t attended = AttendedCount(selection, s.topk, position);
  const int64_t chunk_count = ChunksOf(attended), length = ChunkLength(attended);
  PositionCursor cursor(selection, position, 0, selection ? s.topk : position + 1, kernels.tile_rows);
  SparseMlaHeadState state[kMaxHeadGroup];
  if (chunk_count == 1) {
    AttendChunk(kernels, s, pool, sequence, cursor, length, q_latent, q_rope, head_begin, head_end, out, state);
    return Normalize(state, heads, rank, out);
  }
  chunks.Reset(chunk_count, heads, rank);
  for (int64_t c = 0; c < chunk_count; ++c)
    AttendChunk(kernels, s, pool, sequence, cursor, length, q_latent, q_rope, head_begin, head_end,
                chunks.o.data() + c * heads * rank, chunks.state.data() + c * heads);
  for (int64_t h = 0; h < heads; ++h)
    MergeChunks(chunks.o.data() + h * rank, heads * rank, chunks.state.data() + h, heads, chunk_count, rank,
                out + h * rank);
}

// One call's operands as its work items see them.
struct Call {
  const SparseMlaKernels& kernels;
  const SparseMlaShape& s;
  const float* pool;
  const int32_t* topk_indices;
  const float* q_latent;
  const float* q_rope;
  const std::vector<int64_t>& token_sequence;
  float* out;

  int64_t Position(int64_t token) const {
    const int64_t b = token_sequence[token];
    return s.batch.past[b] + (token - s.batch.cu[b]);
  }
  const int32_t* Selection(int64_t token) const { return topk_indices ? topk_indices + token * s.topk : nullptr; }
  const float* QueryLatent(int64_t token) const { return q_latent + token * s.n_heads * s.kv_lora_rank; }
  const float* QueryRope(int64_t token) const { return q_rope + token * s.n_heads * s.rope_dim; }
};

// A decode call's chunks as work items of their own: each token's attended positions (a selection's causal entries
// compacted in order, so a chunk is a range of them), its chunks as units (token, chunk) with the index of its first,
// and the units' results [units, n_heads, rank].
struct SplitTokens {
  struct Unit {
    int64_t token, chunk;
  };
  std::vector<int32_t> attended;  // [T, topk]: token t's causal selected positions first
  std::vector<int64_t> count, first_unit;
  std::vector<Unit> units;
  ChunkResults results;

  void Plan(const Call& c) {
    const SparseMlaShape& s = c.s;
    count.assign(static_cast<size_t>(s.tokens), 0);
    first_unit.assign(static_cast<size_t>(s.tokens), 0);
    units.clear();
    if (c.topk_indices) attended.resize(static_cast<size_t>(s.tokens * s.topk));
    for (int64_t t = 0; t < s.tokens; ++t) {
      const int64_t position = c.Position(t);
      if (const int32_t* selection = c.Selection(t)) {
        int32_t* kept = attended.data() + t * s.topk;
        for (int64_t k = 0; k < s.topk; ++k)
          if (Attends(selection[k], position)) kept[count[t]++] = selection[k];
      } else {
        count[t] = position + 1;
      }
      first_unit[t] = static_cast<int64_t>(units.size());
      for (int64_t c = 0; c < ChunksOf(count[t]); ++c) units.push_back({t, c});
    }
  }
};

void WriteNewRows(const SparseMlaShape& s, const float* kv_latent, const float* k_rope, float* pool) {
  const int64_t rank = s.kv_lora_rank, rope = s.rope_dim, width = rank + rope;
  for (int64_t b = 0; b < s.batch.num_sequences; ++b)
    for (int64_t j = 0; j < s.batch.NewTokens(b); ++j) {
      const int64_t token = s.batch.cu[b] + j;
      float* row = pool + s.batch.PoolRow(b, s.batch.past[b] + j) * width;
      std::memcpy(row, kv_latent + token * rank, static_cast<size_t>(rank) * sizeof(float));
      std::memcpy(row + rank, k_rope + token * rope, static_cast<size_t>(rope) * sizeof(float));
    }
}

int64_t GroupsOf(const SparseMlaShape& s, int64_t group) { return (s.n_heads + group - 1) / group; }

// Work items (token, group of `group` heads), each running its token's chunks in turn.
void RunTokens(const Parallel& parallel, const Call& c, int64_t group) {
  const SparseMlaShape& s = c.s;
  const int64_t groups = GroupsOf(s, group);
  parallel.For(s.tokens * groups, [&](int64_t begin, int64_t end) {
    thread_local ChunkResults chunks;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t token = item / groups, head_begin = item % groups * group;
      float* o = c.out + (token * s.n_heads + head_begin) * s.kv_lora_rank;
      AttendToken(c.kernels, s, c.pool, c.token_sequence[token], c.Position(token), c.Selection(token),
                  c.QueryLatent(token), c.QueryRope(token), head_begin, std::min(s.n_heads, head_begin + group), o,
                  chunks);
    }
  });
}

// Work items (token, group of heads, chunk), then the merge of each token with more than one chunk; the groups shrink
// (down to 4 heads) while the items are fewer than `wanted`. False, with nothing run, when the chunks' results would
// pass kSplitBytes.
bool RunChunks(const Parallel& parallel, const Call& c, int64_t wanted, int64_t group) {
  const SparseMlaShape& s = c.s;
  const int64_t rank = s.kv_lora_rank;
  thread_local SplitTokens split_buffer;  // the calling thread's; the items read it and write their units' results
  SplitTokens& split = split_buffer;
  split.Plan(c);
  const int64_t units = static_cast<int64_t>(split.units.size());
  if (units * s.n_heads * rank * static_cast<int64_t>(sizeof(float)) > kSplitBytes) return false;
  while (group > 4 && units * GroupsOf(s, group) < wanted) group = (group + 1) / 2;
  const int64_t groups = GroupsOf(s, group);
  split.results.Reset(units, s.n_heads, rank);
  parallel.For(units * groups, [&](int64_t begin, int64_t end) {
    SparseMlaHeadState state[kMaxHeadGroup];
    for (int64_t item = begin; item < end; ++item) {
      const int64_t u = item / groups, token = split.units[u].token, head_begin = item % groups * group;
      const int64_t head_end = std::min(s.n_heads, head_begin + group), count = split.count[token];
      const int64_t length = ChunkLength(count), first = split.units[u].chunk * length;
      PositionCursor cursor(c.topk_indices ? split.attended.data() + token * s.topk : nullptr, c.Position(token), first,
                            std::min(count, first + length), c.kernels.tile_rows);
      const bool only = ChunksOf(count) == 1;  // its only chunk: straight into out, normalised
      float* o = only ? c.out + (token * s.n_heads + head_begin) * rank
                      : split.results.o.data() + (u * s.n_heads + head_begin) * rank;
      AttendChunk(c.kernels, s, c.pool, c.token_sequence[token], cursor, length, c.QueryLatent(token),
                  c.QueryRope(token), head_begin, head_end, o, state);
      if (only)
        Normalize(state, head_end - head_begin, rank, o);
      else
        std::copy(state, state + (head_end - head_begin), split.results.state.data() + u * s.n_heads + head_begin);
    }
  });
  if (units == s.tokens) return true;  // every token had one chunk
  parallel.For(s.tokens * s.n_heads, [&](int64_t begin, int64_t end) {
    for (int64_t pair = begin; pair < end; ++pair) {
      const int64_t token = pair / s.n_heads, h = pair % s.n_heads, chunks = ChunksOf(split.count[token]);
      if (chunks == 1) continue;
      const int64_t at = split.first_unit[token] * s.n_heads + h;  // chunk 0's entry; chunk c is c * n_heads further
      MergeChunks(split.results.o.data() + at * rank, s.n_heads * rank, split.results.state.data() + at, s.n_heads,
                  chunks, rank, c.out + pair * rank);
    }
  });
  return true;
}

}  // namespace

void SparseMlaAttention(const Parallel& parallel, const SparseMlaShape& s, const float* q_latent, const float* q_rope,
                        const float* kv_latent, const float* k_rope, const RopeTables& rope, float* latent_pool,
                        const int32_t* topk_indices, float* out) {
  const QueryKey qk(q_rope, k_rope, s.tokens, s.n_heads, s.rope_dim, s.rotate ? s.rope_dim : 0, rope, RotatedCopy);
  q_rope = qk.q();
  k_rope = qk.k();
  WriteNewRows(s, kv_latent, k_rope, latent_pool);

  std::vector<int64_t> token_sequence(static_cast<size_t>(s.tokens));
  for (int64_t b = 0; b < s.batch.num_sequences; ++b)
    for (int64_t t = s.batch.cu[b]; t < s.batch.cu[b + 1]; ++t) token_sequence[t] = b;

  // Work item = (token, group of heads), or at decode (token, group of heads, chunk). A group shares each loaded cache
  // row between its heads (the kernel walks the group's head blocks over a tile in cache), so a token's heads form as
  // few groups as the stack's states allow. When that leaves threads idle (decode), a token's chunks become items of
  // their own, merged afterwards (flash decoding), rather than smaller head groups each reading every attended row
  // again; groups shrink (down to 4 heads) only where a token has too few chunks. Head groups never change a head's
  // arithmetic, nor do chunks run side by side rather than in turn, so a token's result is the same bits either way.
  const Call call{ActiveSparseMlaKernels(), s, latent_pool, topk_indices, q_latent, q_rope, token_sequence, out};
  const int64_t wanted = 4 * static_cast<int64_t>(parallel.Threads());
  const int64_t group = std::min(s.n_heads, kMaxHeadGroup);
  if (s.tokens * GroupsOf(s, group) < wanted && RunChunks(parallel, call, wanted, group)) return;
  RunTokens(parallel, call, group);
}

const SparseMlaKernels& ActiveSparseMlaKernels() {
  return ActiveIsa() == Isa::kAvx512 ? SparseMlaKernelsAvx512() : SparseMlaKernelsAvx2();
}

}  // namespace glm_ops::cpu
