// Reads DenseProjection's inputs and attributes from ONNX Runtime into the ORT-free structs its shared validation
// checks, at the positions and with the defaults of its table (common/op_specs.h); used by the CPU wrapper and the
// CUDA-EP wrapper alike (the other ops' readers live in ort/op_inputs.h).
#pragma once

#include "common/dense_projection_validation.h"
#include "ort/ort_api.h"

namespace glm_ops::ort {

struct DenseProjectionValues {
  Ort::ConstValue input, weight;
  Ort::ConstValue scales;  // empty unless the node passes scales
  Ort::ConstValue addend;  // empty unless the node passes an addend
  DenseProjectionInputs in;
};
DenseProjectionValues ReadDenseProjectionInputs(const Ort::KernelContext& context);

// The weight and (where the format has them) scale pointers of validated inputs, in whatever memory they arrived.
DenseWeight DenseWeightPointers(const DenseProjectionValues& values, const DenseProjectionShape& shape);

DenseProjectionAttributes ReadDenseProjectionAttributes(const OrtKernelInfo* info);

}  // namespace glm_ops::ort
