// Reads each op's inputs and attributes from ONNX Runtime into the ORT-free structs the shared validation checks,
// at the positions and with the defaults of the op's table (common/op_specs.h). One reader per op, used by the CPU
// wrappers (src/ort) and the CUDA-EP wrappers (src/cuda/ort) alike, so both flavours describe, validate and name their
// inputs identically.
#pragma once

#include "common/lightning_indexer_validation.h"
#include "common/moe_experts_validation.h"
#include "common/moe_routing_validation.h"
#include "common/sparse_mla_validation.h"
#include "ort/ort_api.h"

namespace glm_ops::ort {

struct LightningIndexerValues {
  Ort::ConstValue q, k, w, pool;
  Ort::ConstValue cos, sin;  // empty when the optional rope tables are absent
  LightningIndexerInputs in;
};
LightningIndexerValues ReadLightningIndexerInputs(const Ort::KernelContext& context);

struct SparseMlaValues {
  Ort::ConstValue q_latent, q_rope, kv_latent, k_rope, pool;
  Ort::ConstValue topk;  // empty when the optional selection is absent (dense causal attention)
  Ort::ConstValue cos, sin;  // empty when the optional rope tables are absent
  SparseMlaInputs in;
};
SparseMlaValues ReadSparseMlaInputs(const Ort::KernelContext& context);

struct MoeRoutingValues {
  Ort::ConstValue logits, bias;
  TensorDesc logits_desc, bias_desc;
};
MoeRoutingValues ReadMoeRoutingInputs(const Ort::KernelContext& context);

struct MoeExpertsValues {
  Ort::ConstValue hidden, ids, weights, gate, up, down;
  Ort::ConstValue gate_scales, up_scales, down_scales;  // empty unless the weights are block-FP8, int8 or int4
  MoeExpertsInputs in;
};
MoeExpertsValues ReadMoeExpertsInputs(const Ort::KernelContext& context);
// The rope tables' pointers (null when absent), in whatever memory they arrived.
RopeTables RopeTablesOf(const Ort::ConstValue& cos, const Ort::ConstValue& sin);

// The weight and scale pointers of validated inputs, in whatever memory they arrived (scales only for the
// quantized formats).
ExpertWeights ExpertWeightPointers(const MoeExpertsValues& values, const MoeExpertsShape& shape);

LightningIndexerAttributes ReadLightningIndexerAttributes(const OrtKernelInfo* info);
SparseMlaAttributes ReadSparseMlaAttributes(const OrtKernelInfo* info);
MoeRoutingAttributes ReadMoeRoutingAttributes(const OrtKernelInfo* info);
MoeExpertsAttributes ReadMoeExpertsAttributes(const OrtKernelInfo* info);

}  // namespace glm_ops::ort
