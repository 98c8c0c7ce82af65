// Run-time choice of the instruction set for the hot kernels (cpu/expert_kernels.h): AVX-512 (F, BW, VL, VNNI,
// BF16) where the CPU has it, else AVX2 (x86-64-v3, the library's baseline). The environment variable
// GLM_OPS_ISA=avx2 forces the AVX2 kernels (tests and benchmarks run both paths on one machine); GLM_OPS_ISA=avx512
// asks for AVX-512 and falls back to AVX2, with a message on stderr, on a CPU without it. Chosen once, on first use.
#pragma once

#include "cpu/expert_kernels.h"

namespace glm_ops::cpu {

enum class Isa { kAvx2, kAvx512 };

// Whether this CPU can run the AVX-512 kernels.
bool CpuHasAvx512Kernels();

// The ISA the kernels use in this process (environment and CPU, decided once).
Isa ActiveIsa();
const char* IsaName(Isa isa);

// The table of `isa` (kAvx512 only where CpuHasAvx512Kernels()).
const ExpertKernels& ExpertKernelsFor(Isa isa);
const ExpertKernels& ActiveExpertKernels();

}  // namespace glm_ops::cpu
