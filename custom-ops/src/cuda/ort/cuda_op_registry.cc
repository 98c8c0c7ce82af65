#include "cuda/ort/cuda_op_registry.h"

namespace glm_ops::ort {

std::vector<const OrtCustomOp*> AllCudaOps() {
  return {cuda_ep::LightningIndexerCudaOp(), cuda_ep::SparseMlaAttentionCudaOp(), cuda_ep::MoeRoutingCudaOp(),
          cuda_ep::MoeExpertsCudaOp(), cuda_ep::DenseProjectionCudaOp()};
}

}  // namespace glm_ops::ort
