// The 64-byte operand of LDTILECFG (Intel AMX, palette 1): per tile register its rows and bytes per row. Shared by
// the AMX kernels (isa/dense_projection_amx.cc, isa/dense_projection_int_amx.cc, isa/expert_amx.cc), each of which
// fills in the tiles it uses and loads it once per call.
#pragma once

#include <cstdint>

namespace glm_ops::cpu {

struct alignas(64) AmxTileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t bytes_per_row[16] = {};
  uint8_t rows[16] = {};
};

}  // namespace glm_ops::cpu
