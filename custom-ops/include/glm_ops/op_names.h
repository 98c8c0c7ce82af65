// The one list of op names, the domain and its version. C# reads the same facts back through
// GlmOnnxOps_DescribeOps() (see contracts/Glm.Onnx.Contracts/CustomOpNames.cs and its test), so the two never drift.
#pragma once

namespace glm_ops {

inline constexpr const char* kDomain = "com.glm.onnx";
inline constexpr int kDomainVersion = 1;

// X-macro: GLM_OP(CppIdentifier, "OnnxOpName")
#define GLM_OPS_LIST(GLM_OP)                 \
  GLM_OP(LightningIndexer, "LightningIndexer") \
  GLM_OP(SparseMlaAttention, "SparseMlaAttention") \
  GLM_OP(MoeRouting, "MoeRouting")           \
  GLM_OP(MoeExperts, "MoeExperts")           \
  GLM_OP(DenseProjection, "DenseProjection")

// kLightningIndexerName, kSparseMlaAttentionName, ...: the wrappers name their ops from the same list.
#define GLM_OPS_DECLARE_NAME(id, name) inline constexpr const char* k##id##Name = name;
GLM_OPS_LIST(GLM_OPS_DECLARE_NAME)
#undef GLM_OPS_DECLARE_NAME

}  // namespace glm_ops
