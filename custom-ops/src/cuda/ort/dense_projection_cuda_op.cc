// CUDA-EP wrapper of DenseProjection: the CPU wrapper's spec (common/op_specs.h), input reader and validation, the
// kernel of src/cuda/dense_projection.cu on ORT's compute stream.
#include <vector>

#include "common/dense_projection_validation.h"
#include "cuda/dense_projection_cuda.h"
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
  cuda::DenseProjection(shape, v.input.GetTensorData<float>(), DenseWeightPointers(v, shape),
                        out.GetTensorMutableData<float>(), ComputeStream(context));
}

}  // namespace

const OrtCustomOp* DenseProjectionCudaOp() {
  return DeclareOp<DenseProjectionAttributes, ReadDenseProjectionAttributes, Compute>(kDenseProjectionSpec, kProvider);
}

}  // namespace glm_ops::ort::cuda_ep
