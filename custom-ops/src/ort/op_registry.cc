#include "ort/op_registry.h"

namespace glm_ops::ort {

std::vector<const OrtCustomOp*> AllCpuOps() {
  return {MoeRoutingCpuOp()};
}

}  // namespace glm_ops::ort
