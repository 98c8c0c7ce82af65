// CUDA-EP wrapper of MoeExperts: validation as the CPU wrapper. expert_ids stay on the device (they come from
// MoeRouting on the GPU): the kernel skips and counts ids outside [0, n_experts) instead of reading out of bounds;
// with GLM_OPS_CUDA_DEBUG_CHECKS=1 the ids are also copied to the host and checked like the CPU op does.
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

constexpr const char* kOp = kMoeExpertsName;

struct MoeExpertsCudaKernel {
  explicit MoeExpertsCudaKernel(const OrtKernelInfo* info) : attributes(ReadMoeExpertsAttributes(info)) {}
  MoeExpertsAttributes attributes;

  OrtStatusPtr ComputeV2(OrtKernelContext* raw_context) {
    return Guarded([&] {
      Ort::KernelContext context(raw_context);
      const auto [hidden, ids, weights, gate, up, down, gate_scales, up_scales, down_scales, in] =
          ReadMoeExpertsInputs(context);
      const MoeExpertsShape shape = ValidateMoeExperts(in, attributes);
      auto out = context.GetOutput(0, std::vector<int64_t>{shape.tokens, shape.hidden});
      if (shape.tokens == 0) return;
      const cudaStream_t stream = ComputeStream(context);
      if (DebugChecksEnabled()) {
        std::vector<int32_t> host(static_cast<size_t>(shape.tokens * shape.top_k));
        GLM_CUDA_CHECK(cudaMemcpyAsync(host.data(), ids.GetTensorData<int32_t>(), host.size() * sizeof(int32_t),
                                       cudaMemcpyDeviceToHost, stream));
        GLM_CUDA_CHECK(cudaStreamSynchronize(stream));
        CheckExpertIds(shape, host.data());
      }
      const bool fp8 = shape.format == ExpertWeightFormat::kFloat8E4M3;
      const cuda::DeviceExpertWeights w{gate.GetTensorRawData(),
                                        up.GetTensorRawData(),
                                        down.GetTensorRawData(),
                                        fp8 ? gate_scales.GetTensorData<float>() : nullptr,
                                        fp8 ? up_scales.GetTensorData<float>() : nullptr,
                                        fp8 ? down_scales.GetTensorData<float>() : nullptr};
      Scratch scratch(context, hidden, cuda::MoeExpertsWorkspaceBytes(shape));
      cuda::MoeExperts(shape, cuda::Activation::kFloat32, hidden.GetTensorRawData(), ids.GetTensorData<int32_t>(),
                       weights.GetTensorData<float>(), w, out.GetTensorMutableData<float>(), scratch.data(),
                       scratch.bytes(), stream);
    });
  }
};

}  // namespace

const OrtCustomOp* MoeExpertsCudaOp() {
  static const SpecCustomOp<MoeExpertsCudaKernel> op(kMoeExpertsSpec, kProvider);
  return &op;
}

}  // namespace glm_ops::ort::cuda_ep
