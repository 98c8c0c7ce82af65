#include "ort/op_registry.h"

namespace glm_ops::ort {

std::vector<const OrtCustomOp*> AllCpuOps() {
  return {LightningIndexerCpuOp(), SparseMlaAttentionCpuOp(), MoeRoutingCpuOp(), MoeExpertsCpuOp(),
          DenseProjectionCpuOp()};
}

}  // namespace glm_ops::ort
