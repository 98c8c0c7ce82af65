// The ops this library registers for the CUDA execution provider: the same names, inputs and validation as the CPU
// ops, kernels from src/cuda/. Built only when nvcc is available (cmake/cuda.cmake).
#pragma once

#include <vector>

struct OrtCustomOp;

namespace glm_ops::ort::cuda_ep {

const OrtCustomOp* LightningIndexerCudaOp();
const OrtCustomOp* SparseMlaAttentionCudaOp();
const OrtCustomOp* MoeRoutingCudaOp();
const OrtCustomOp* MoeExpertsCudaOp();
const OrtCustomOp* DenseProjectionCudaOp();

}  // namespace glm_ops::ort::cuda_ep

namespace glm_ops::ort {

std::vector<const OrtCustomOp*> AllCudaOps();

}  // namespace glm_ops::ort
