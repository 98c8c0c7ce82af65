// The ops this library registers for the CPU execution provider (and, later, CUDA).
#pragma once

#include <vector>

struct OrtCustomOp;

namespace glm_ops::ort {

// One static instance per op; ORT keeps the pointers for the life of every session that uses them.
std::vector<const OrtCustomOp*> AllCpuOps();

const OrtCustomOp* LightningIndexerCpuOp();
const OrtCustomOp* SparseMlaAttentionCpuOp();
const OrtCustomOp* MoeRoutingCpuOp();
const OrtCustomOp* MoeExpertsCpuOp();
const OrtCustomOp* DenseProjectionCpuOp();

}  // namespace glm_ops::ort
