// Element types the CUDA kernels take for activations and caches: float32 (parity runs, the ONNX contract v1) or
// bfloat16 (production on GPU). Accumulation is always float32.
#pragma once

namespace glm_ops::cuda {

enum class Activation {
  kFloat32,
  kBFloat16,
};

inline const char* ActivationName(Activation a) { return a == Activation::kFloat32 ? "float32" : "bfloat16"; }

}  // namespace glm_ops::cuda
