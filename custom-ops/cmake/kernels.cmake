# The CPU kernels, the shared validation and the scalar references: one description for the main project
# (CMakeLists.txt) and the stand-alone device build (gpu-tests/CMakeLists.txt), so both compile them alike.
get_filename_component(GLM_OPS_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)

# The hot kernels once per instruction set (src/cpu/isa/, cpu/isa_dispatch.h picks one at load): the baseline
# x86-64-v3 (AVX2, FMA, F16C, BMI2) and that plus AVX-512 F/BW/VL/VNNI/BF16 (Zen 4, Ice Lake and later).
# GLM_OPS_ISA_AVX512 also renames the inline SIMD helpers' namespace (cpu/isa_tag.h).
file(GLOB GLM_OPS_ISA_SOURCES CONFIGURE_DEPENDS "${GLM_OPS_ROOT}/src/cpu/isa/*.cc")
set(GLM_OPS_KERNEL_FLAGS -O3 -march=x86-64-v3 -ffp-contract=fast -Wall -Wextra -Werror)
add_library(glm_ops_isa_avx2 OBJECT ${GLM_OPS_ISA_SOURCES})
target_include_directories(glm_ops_isa_avx2 PRIVATE "${GLM_OPS_ROOT}/include" "${GLM_OPS_ROOT}/src")
target_compile_options(glm_ops_isa_avx2 PRIVATE ${GLM_OPS_KERNEL_FLAGS})
add_library(glm_ops_isa_avx512 OBJECT ${GLM_OPS_ISA_SOURCES})
target_include_directories(glm_ops_isa_avx512 PRIVATE "${GLM_OPS_ROOT}/include" "${GLM_OPS_ROOT}/src")
target_compile_options(glm_ops_isa_avx512 PRIVATE ${GLM_OPS_KERNEL_FLAGS}
                       -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512bf16)
target_compile_definitions(glm_ops_isa_avx512 PRIVATE GLM_OPS_ISA_AVX512)

# Kernels are plain C++ over raw buffers (no ONNX Runtime types), so tests and benchmarks can call them directly.
# The AVX2 objects come first, so any duplicate inline code the linker merges is the baseline's.
file(GLOB GLM_OPS_KERNEL_SOURCES CONFIGURE_DEPENDS "${GLM_OPS_ROOT}/src/cpu/*.cc" "${GLM_OPS_ROOT}/src/common/*.cc")
add_library(glm_ops_kernels STATIC $<TARGET_OBJECTS:glm_ops_isa_avx2> ${GLM_OPS_KERNEL_SOURCES}
                                   $<TARGET_OBJECTS:glm_ops_isa_avx512>)
target_include_directories(glm_ops_kernels PUBLIC "${GLM_OPS_ROOT}/include" "${GLM_OPS_ROOT}/src")
target_link_libraries(glm_ops_kernels PUBLIC Threads::Threads)
target_compile_options(glm_ops_kernels PRIVATE ${GLM_OPS_KERNEL_FLAGS})

# The plain scalar reference of each op (src/reference/README.md), for the kernel tests and the GPU parity harness.
file(GLOB GLM_OPS_REFERENCE_SOURCES CONFIGURE_DEPENDS "${GLM_OPS_ROOT}/src/reference/*.cc")
add_library(glm_ops_reference STATIC ${GLM_OPS_REFERENCE_SOURCES})
target_link_libraries(glm_ops_reference PUBLIC glm_ops_kernels)
target_compile_options(glm_ops_reference PRIVATE -O2 -Wall -Wextra -Werror)
