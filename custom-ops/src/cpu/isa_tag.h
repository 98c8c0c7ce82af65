// The name of the inline namespace that the header-only SIMD helpers (cpu/simd.h, cpu/weight_decode.h) live in:
// `avx512` in the AVX-512 kernel files (src/cpu/isa/, built with -DGLM_OPS_ISA_AVX512 and AVX-512 flags), `avx2`
// everywhere else. Inline functions compiled with different target flags must not share a symbol name, or the
// linker may keep the AVX-512 copy for every caller and an AVX2-only CPU would fault.
#pragma once

#if defined(GLM_OPS_ISA_AVX512)
#define GLM_OPS_ISA_TAG avx512
#else
#define GLM_OPS_ISA_TAG avx2
#endif
