// LightningIndexer's key-scoring kernel, once per instruction set like the expert and attention kernels
// (src/cpu/isa/lightning_indexer_kernels.cc, cpu/isa_dispatch.h). cpu/lightning_indexer.cc lays one query out as a
// panel with the heads along the vector lanes and hands the active table's score_keys a run of cache-key pointers.
#pragma once

#include <cstdint>

namespace glm_ops::cpu {

struct LightningIndexerKernels {
  const char* isa;  // "avx2" or "avx512"
  int head_lanes;   // heads per vector: the query panel pads its heads to a multiple of this
  // scores[j] = sum_h w[h] * max(0, scale * sum_d qt[d * padded + h] * keys[j][d]) for j in [0, count).
  // qt [dim, padded] (heads padded with zero queries), w [padded] (zero weights for the padding), keys[j] [dim].
  // Each score is computed the same way whatever j and count are (results do not depend on how keys are grouped).
  void (*score_keys)(const float* qt, const float* w, int64_t padded, int64_t dim, float scale,
                     const float* const* keys, int64_t count, float* scores);
};

// The two tables (the two compilations of src/cpu/isa/lightning_indexer_kernels.cc) and the one in use.
const LightningIndexerKernels& LightningIndexerKernelsAvx2();
const LightningIndexerKernels& LightningIndexerKernelsAvx512();
const LightningIndexerKernels& ActiveLightningIndexerKernels();

}  // namespace glm_ops::cpu
