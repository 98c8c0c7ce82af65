#include "cpu/isa_dispatch.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace glm_ops::cpu {

namespace {

Isa Choose() {
  const bool avx512 = CpuHasAvx512Kernels();
  const char* forced = std::getenv("GLM_OPS_ISA");
  if (forced && *forced) {
    if (std::strcmp(forced, "avx2") == 0) return Isa::kAvx2;
    if (std::strcmp(forced, "avx512") == 0) {
      if (avx512) return Isa::kAvx512;
      std::fprintf(stderr, "glm_onnx_ops: GLM_OPS_ISA=avx512 but this CPU lacks AVX-512 F/BW/VL/VNNI/BF16; "
                           "using avx2\n");
      return Isa::kAvx2;
    }
    std::fprintf(stderr, "glm_onnx_ops: GLM_OPS_ISA='%s' is not one of avx2, avx512; choosing by CPU\n", forced);
  }
  return avx512 ? Isa::kAvx512 : Isa::kAvx2;
}

}  // namespace

bool CpuHasAvx512Kernels() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
         __builtin_cpu_supports("avx512bf16");
}

Isa ActiveIsa() {
  static const Isa isa = Choose();
  return isa;
}

const char* IsaName(Isa isa) { return isa == Isa::kAvx512 ? "avx512" : "avx2"; }

const ExpertKernels& ExpertKernelsFor(Isa isa) {
  return isa == Isa::kAvx512 ? ExpertKernelsAvx512() : ExpertKernelsAvx2();
}

const ExpertKernels& ActiveExpertKernels() {
  static const ExpertKernels& table = ExpertKernelsFor(ActiveIsa());
  return table;
}

}  // namespace glm_ops::cpu
