// CUDA-EP wrapper of DenseProjection: the CPU wrapper's spec (common/op_specs.h), input reader and validation, the
// node of src/cuda/dense_projection_node.cu (input activation, projection, addend) on ORT's compute stream. All
// inputs, the optional addend included, stay on the device.
#include <vector>

#include "common/dense_projection_validation.h"
#include "cuda/dense_projection_node_cuda.h"
#include "cuda/ort/cuda_kernel_support.h"
#include "cuda/ort/cuda_op_registry.h"
#include "ort/dense_projection_inputs.h"
#include "ort/spec_custom_op.h"

namespace glm_ops::ort::cuda_ep {

namespace {

void Compute(const DenseProjectionAttributes& attributes, Ort::KernelContext& context) {
  const DenseProjectionValues v = ReadDenseProjectionInputs(context);
  const DenseProjectionShape shape = ValidateDenseProjection(v.in, attributes);
  auto out = context.GetOutput(0, std::vector<int64_t>{shape.tokens, shape.out});
  if (shape.tokens == 0) return;
  // Zero bytes (no input activation) allocate nothing, so the plain projection keeps its allocation-free call.
  Scratch scratch(context, v.input, cuda::DenseProjectionNodeWorkspaceBytes(shape));
  cuda::DenseProjectionNode(shape, v.input.GetTensorData<float>(), DenseWeightPointers(v, shape),
                            shape.addend ? v.addend.GetTensorData<float>() : nullptr,
                            out.GetTensorMutableData<float>(), scratch.data(), scratch.bytes(),
                            ComputeStream(context));
}

}  // namespace

const OrtCustomOp* DenseProjectionCudaOp() {
  return DeclareOp<DenseProjectionAttributes, ReadDenseProjectionAttributes, Compute>(kDenseProjectionSpec, kProvider);
}

}  // namespace glm_ops::ort::cuda_ep
