#include <stdexcept>

#include "cuda/activation.h"
#include "cuda/dense_projection_cuda.h"
#include "cuda/dense_projection_node_cuda.h"
#include "cuda/swiglu_cuda.h"
#include "cuda/workspace.h"

namespace glm_ops::cuda {

namespace {

// The one buffer of the workspace, laid out by the same code that sizes it (cuda/workspace.h): the activated rows
// with swiglu, nothing otherwise.
float* Carve(const DenseProjectionShape& s, Workspace& ws) {
  return s.swiglu ? ws.Take<float>(static_cast<size_t>(s.tokens * s.in)) : nullptr;
}

}  // namespace

size_t DenseProjectionNodeWorkspaceBytes(const DenseProjectionShape& shape) {
  Workspace sizing;
  Carve(shape, sizing);
  return sizing.Used();
}

void DenseProjectionNode(const DenseProjectionShape& s, const float* input, const DenseWeight& weight,
                         const float* addend, float* output, void* workspace, size_t workspace_bytes,
                         cudaStream_t stream) {
  // The validated shape says whether the node has an addend; a pointer that disagrees is a caller's bug, and a
  // missing one would silently drop a term of the output.
  if (s.addend != (addend != nullptr))
    throw std::invalid_argument(s.addend ? "DenseProjection (CUDA): the shape has an addend but the pointer is null"
                                         : "DenseProjection (CUDA): an addend pointer without shape.addend");
  if (s.tokens == 0) return;
  Workspace ws(workspace, workspace_bytes);
  float* activated = Carve(s, ws);
  if (s.swiglu) {
    // The projection kernel takes float32 activations, so the activated rows are float32 too (no extra rounding).
    SwiGluRows(Activation::kFloat32, input, s.tokens, s.in, activated, stream);
    input = activated;
  }
  DenseProjection(s, input, weight, addend, output, stream);
}

}  // namespace glm_ops::cuda
