// Expert weight element formats written out from their definitions (docs/onnx-contract.md), one value at a time.
#pragma once

#include <cstdint>

#include "common/moe_experts_validation.h"

namespace glm_ops::reference {

// e4m3fn: (-1)^s * 2^(e-7) * (1 + m/8), or 2^-6 * m/8 when e = 0; S.1111.111 is NaN; no infinities.
double E4M3(uint8_t bits);

// bfloat16: the top 16 bits of a float32.
double BFloat16(uint16_t bits);

// IEEE float16: (-1)^s * 2^(e-15) * (1 + m/1024), or 2^-14 * m/1024 when e = 0; e = 31 is infinity or NaN.
double Float16(uint16_t bits);

// Element `index` of a stacked [E, rows, cols] weight tensor in `format`, dequantised (index counts logical weights,
// row-major over [E, rows, cols], whatever the storage):
// - FP8: e4m3(Wq[e,r,c]) * scales[e, r / block, c / block] (float scales [E, ceil(rows/block), ceil(cols/block)]);
// - int8: Wq[e,r,c] * scales[e, r, c / block] (float16 scales [E, rows, ceil(cols/block)]);
// - int4: byte b = W[e, r, c / 2] of [E, rows, ceil(cols/2)]; q = (c even ? b & 15 : b >> 4) - 8; q * scale as int8.
double WeightAt(ExpertWeightFormat format, const void* data, const void* scales, int64_t rows, int64_t cols,
                int64_t block, int64_t index);

}  // namespace glm_ops::reference
