// The 64-byte operand of LDTILECFG (Intel AMX, palette 1): per tile register its rows and bytes per row. Shared by
// the AMX kernels (isa/dense_projection_amx.cc, isa/dense_projection_int_amx.cc, isa/expert_amx.cc), each of which
// fills in the tiles it uses (UniformTileConfig: the bf16 kernels' eight equal tiles) and loads it once per call.
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

// Tile registers [0, tiles) each `rows` x `bytes_per_row` bytes, the others unused (the bf16 kernels: all 8 tiles
// 16 x 64 bytes).
inline AmxTileConfig UniformTileConfig(int tiles, uint8_t rows, uint16_t bytes_per_row) {
  AmxTileConfig config;
  for (int i = 0; i < tiles; ++i) {
    config.bytes_per_row[i] = bytes_per_row;
    config.rows[i] = rows;
  }
  return config;
}

}  // namespace glm_ops::cpu
