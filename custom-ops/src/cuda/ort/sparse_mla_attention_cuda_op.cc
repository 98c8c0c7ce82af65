// CUDA-EP wrapper of SparseMlaAttention: the CPU wrapper's spec (common/op_specs.h), inputs and validation; batch
// inputs in CPU memory, topk_indices (produced by the indexer on the GPU) and the optional rope tables stay on the
// device.
#include <vector>

#include "common/sparse_mla_validation.h"
#include "cuda/ort/cuda_kernel_support.h"
#include "cuda/ort/cuda_op_registry.h"
#include "cuda/sparse_mla_attention_cuda.h"
#include "ort/op_inputs.h"
#include "ort/spec_custom_op.h"

namespace glm_ops::ort::cuda_ep {

namespace {

void Compute(const SparseMlaAttributes& attributes, Ort::KernelContext& context) {
  const auto [ql, qr, kv, kr, pool, topk, cos, sin, in] = ReadSparseMlaInputs(context);
  const SparseMlaShape shape = ValidateSparseMla(in, attributes);
  auto out = context.GetOutput(0, std::vector<int64_t>{shape.tokens, shape.n_heads, shape.kv_lora_rank});
  if (shape.tokens == 0) return;
  CheckPoolOnDevice(kSparseMlaAttentionName, "latent_pool", pool);
  Scratch scratch(context, pool, cuda::SparseMlaAttentionWorkspaceBytes(shape));
  cuda::SparseMlaAttention(shape, cuda::Activation::kFloat32, ql.GetTensorRawData(), qr.GetTensorRawData(),
                           kv.GetTensorRawData(), kr.GetTensorRawData(), RopeTablesOf(cos, sin),
                           const_cast<void*>(pool.GetTensorRawData()),
                           in.has_topk ? topk.GetTensorData<int32_t>() : nullptr, out.GetTensorMutableData<float>(),
                           scratch.data(), scratch.bytes(), ComputeStream(context));
}

}  // namespace

const OrtCustomOp* SparseMlaAttentionCudaOp() {
  return DeclareOp<SparseMlaAttributes, ReadSparseMlaAttributes, Compute>(kSparseMlaAttentionSpec, kProvider);
}

}  // namespace glm_ops::ort::cuda_ep
