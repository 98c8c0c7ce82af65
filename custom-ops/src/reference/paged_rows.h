// Which sequence a packed token belongs to and where its position lives in a paged pool: the two lookups every
// paged reference makes, written the slow, obvious way.
#pragma once

#include <cstdint>

#include "common/paged_batch.h"

namespace glm_ops::reference {

// The sequence whose new tokens include packed token `token`.
inline int64_t SequenceOf(const PagedBatch& batch, int64_t token) {
  int64_t sequence = 0;
  while (!(token >= batch.cu[sequence] && token < batch.cu[sequence + 1])) ++sequence;
  return sequence;
}

// The absolute position of packed token `token`.
inline int64_t PositionOf(const PagedBatch& batch, int64_t token) {
  const int64_t sequence = SequenceOf(batch, token);
  return batch.past[sequence] + token - batch.cu[sequence];
}

}  // namespace glm_ops::reference
