// The many-token (prefill) path of DenseProjection: output panels of 16 weight rows, each decoded from its stored
// width 256 columns at a time into an L1-resident packed panel that every token then reuses through a 6-token x
// 16-row register-blocked fp32 micro-kernel (outer products: 2 weight loads and 6 broadcasts per 12 FMAs).
#pragma once

#include "common/dense_projection_validation.h"
#include "cpu/parallel.h"

namespace glm_ops::cpu {

// Whether the panel packer decodes this weight format (formats it does not know fall back to the row projection).
bool DenseGemmDecodes(ExpertWeightFormat format);

void DenseProjectionGemm(const Parallel& parallel, const DenseProjectionShape& shape, const float* input,
                         const DenseWeight& weight, float* output);

}  // namespace glm_ops::cpu
