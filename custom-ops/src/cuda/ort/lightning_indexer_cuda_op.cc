// CUDA-EP wrapper of LightningIndexer: the CPU wrapper's spec (common/op_specs.h), inputs and validation; the batch
// inputs (cumulative_sequence_lengths, past_sequence_lengths, block_table) arrive in CPU memory, as the spec says,
// because validation reads them and the scheduler produces them on the host anyway; the kernel uploads them on the
// compute stream. The optional rope tables stay on the device with the activations (the kernel rotates q and k).
#include <vector>

#include "common/lightning_indexer_validation.h"
#include "cuda/lightning_indexer_cuda.h"
#include "cuda/ort/cuda_kernel_support.h"
#include "cuda/ort/cuda_op_registry.h"
#include "ort/op_inputs.h"
#include "ort/spec_custom_op.h"

namespace glm_ops::ort::cuda_ep {

namespace {

void Compute(const LightningIndexerAttributes& attributes, Ort::KernelContext& context) {
  const auto [q, k, w, pool, cos, sin, in] = ReadLightningIndexerInputs(context);
  const LightningIndexerShape shape = ValidateLightningIndexer(in, attributes);
  auto out = context.GetOutput(0, std::vector<int64_t>{shape.tokens, shape.index_topk});
  if (shape.tokens == 0) return;
  CheckPoolOnDevice(kLightningIndexerName, "index_pool", pool);
  Scratch scratch(context, pool, cuda::LightningIndexerWorkspaceBytes(shape));
  cuda::LightningIndexer(shape, cuda::Activation::kFloat32, q.GetTensorRawData(), k.GetTensorRawData(),
                         w.GetTensorRawData(), RopeTablesOf(cos, sin), const_cast<void*>(pool.GetTensorRawData()),
                         out.GetTensorMutableData<int32_t>(), scratch.data(), scratch.bytes(), ComputeStream(context));
}

}  // namespace

const OrtCustomOp* LightningIndexerCudaOp() {
  return DeclareOp<LightningIndexerAttributes, ReadLightningIndexerAttributes, Compute>(kLightningIndexerSpec,
                                                                                        kProvider);
}

}  // namespace glm_ops::ort::cuda_ep
