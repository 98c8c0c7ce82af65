// CUDA-EP wrapper of MoeExperts: the CPU wrapper's spec (common/op_specs.h) and validation. expert_ids stay on the
// device (they come from MoeRouting on the GPU): the kernel skips and counts ids outside the routed experts
// [0, n_experts - shared_experts) instead of reading out of bounds or routing to a shared expert; with
// GLM_OPS_CUDA_DEBUG_CHECKS=1 the ids are also copied to the host and checked like the CPU op does.
#include <vector>

#include "common/moe_experts_validation.h"
#include "cuda/cuda_check.h"
#include "cuda/moe_experts_cuda.h"
#include "cuda/ort/cuda_kernel_support.h"
#include "cuda/ort/cuda_op_registry.h"
#include "ort/op_inputs.h"
#include "ort/spec_custom_op.h"

namespace glm_ops::ort::cuda_ep {

namespace {

void Compute(const MoeExpertsAttributes& attributes, Ort::KernelContext& context) {
  const MoeExpertsValues v = ReadMoeExpertsInputs(context);
  const MoeExpertsShape shape = ValidateMoeExperts(v.in, attributes);
  auto out = context.GetOutput(0, std::vector<int64_t>{shape.tokens, shape.hidden});
  if (shape.tokens == 0) return;
  const cudaStream_t stream = ComputeStream(context);
  if (DebugChecksEnabled()) {
    std::vector<int32_t> host(static_cast<size_t>(shape.tokens * shape.top_k));
    GLM_CUDA_CHECK(cudaMemcpyAsync(host.data(), v.ids.GetTensorData<int32_t>(), host.size() * sizeof(int32_t),
                                   cudaMemcpyDeviceToHost, stream));
    GLM_CUDA_CHECK(cudaStreamSynchronize(stream));
    CheckExpertIds(shape, host.data());
  }
  Scratch scratch(context, v.hidden, cuda::MoeExpertsWorkspaceBytes(shape));
  cuda::MoeExperts(shape, cuda::Activation::kFloat32, v.hidden.GetTensorRawData(), v.ids.GetTensorData<int32_t>(),
                   v.weights.GetTensorData<float>(), ExpertWeightPointers(v, shape), out.GetTensorMutableData<float>(),
                   scratch.data(), scratch.bytes(), stream);
}

}  // namespace

const OrtCustomOp* MoeExpertsCudaOp() {
  return DeclareOp<MoeExpertsAttributes, ReadMoeExpertsAttributes, Compute>(kMoeExpertsSpec, kProvider);
}

}  // namespace glm_ops::ort::cuda_ep
