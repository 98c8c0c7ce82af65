# All CUDA build logic of the custom-op library (docs/cuda.md).
#
# Included by custom-ops/CMakeLists.txt (with ONNX Runtime headers: the kernels, the CUDA-EP wrappers inside
# libglm_onnx_ops.so, the GPU parity and benchmark programs) and by custom-ops/gpu-tests/CMakeLists.txt (the
# stand-alone device build: kernels and programs, no ONNX Runtime). Expects the targets glm_ops_kernels (CPU
# kernels + shared validation) and glm_ops_reference (scalar references) to exist; GLM_OPS_HAVE_ORT says whether
# glm_onnx_ops exists.
#
# GLM_OPS_CUDA: AUTO (default) builds CUDA when CMake finds a working CUDA compiler, ON requires one,
# OFF never builds CUDA. Without nvcc nothing CUDA is configured or built, so the CPU build is unchanged.
# Debian's nvcc 11.8 only works with an older host compiler: pass -DCMAKE_CUDA_HOST_COMPILER=clang++-14.

# (Not named GLM_OPS_ENABLE_CUDA: older build trees cached that as a BOOL ON, which would now mean "require nvcc".)
set(GLM_OPS_CUDA AUTO CACHE STRING "Build the CUDA kernels: AUTO, ON or OFF")
set_property(CACHE GLM_OPS_CUDA PROPERTY STRINGS AUTO ON OFF)
option(GLM_OPS_BUILD_GPU_TOOLS "Build the GPU parity harness and benchmark programs with the CUDA kernels" ON)
# OFF only for the one-shot device script: a new toolkit's new warning must not cost the scarce GPU run.
option(GLM_OPS_CUDA_WERROR "Treat nvcc warnings as errors" ON)
set(GLM_OPS_CUDA_ENABLED OFF)
get_filename_component(GLM_OPS_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)

if(NOT GLM_OPS_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  # check_language() configures a probe project that does not see -DCMAKE_CUDA_HOST_COMPILER; the environment
  # variable reaches it.
  if(CMAKE_CUDA_HOST_COMPILER AND NOT DEFINED ENV{CUDAHOSTCXX})
    set(ENV{CUDAHOSTCXX} "${CMAKE_CUDA_HOST_COMPILER}")
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(GLM_OPS_CUDA_ENABLED ON)
  elseif(GLM_OPS_CUDA STREQUAL "ON")
    message(FATAL_ERROR "GLM_OPS_CUDA=ON but no working CUDA compiler was found (nvcc on PATH? with "
                        "Debian's nvcc 11.8 pass -DCMAKE_CUDA_HOST_COMPILER=clang++-14)")
  endif()
endif()

if(NOT GLM_OPS_CUDA_ENABLED)
  message(STATUS "glm_onnx_ops: no working nvcc (or GLM_OPS_CUDA=OFF): CPU kernels only")
  return()
endif()

# A CMAKE_CUDA_ARCHITECTURES the user passes wins. enable_language(CUDA) caches its own default (52) when none is
# given, which a later re-configure of the same build folder would otherwise read as the user's choice: what the
# first configure saw is kept in a cache variable of its own, and a value passed later replaces it.
if(NOT DEFINED GLM_OPS_CUDA_USER_ARCHITECTURES OR
   (DEFINED CMAKE_CUDA_ARCHITECTURES AND NOT "${CMAKE_CUDA_ARCHITECTURES}" STREQUAL "${GLM_OPS_CUDA_CACHED_DEFAULT}"))
  set(GLM_OPS_CUDA_USER_ARCHITECTURES "${CMAKE_CUDA_ARCHITECTURES}" CACHE INTERNAL "CMAKE_CUDA_ARCHITECTURES as the user gave it")
endif()
set(_glm_user_arch "${GLM_OPS_CUDA_USER_ARCHITECTURES}")
enable_language(CUDA)
if(NOT _glm_user_arch)
  set(GLM_OPS_CUDA_CACHED_DEFAULT "${CMAKE_CUDA_ARCHITECTURES}" CACHE INTERNAL "enable_language(CUDA)'s own default")
endif()
find_package(CUDAToolkit REQUIRED)
if(_glm_user_arch)
  set(GLM_OPS_CUDA_ARCHITECTURES "${_glm_user_arch}")
elseif(CMAKE_CUDA_COMPILER_VERSION VERSION_GREATER_EQUAL 12.8)
  set(GLM_OPS_CUDA_ARCHITECTURES 90 100)  # Hopper (H100/H200) and Blackwell (B200)
else()
  set(GLM_OPS_CUDA_ARCHITECTURES 90)      # this toolkit cannot target sm_100
endif()
message(STATUS "glm_onnx_ops: CUDA kernels enabled (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, "
               "architectures ${GLM_OPS_CUDA_ARCHITECTURES})")

if(GLM_OPS_CUDA_WERROR)
  set(GLM_OPS_CUDA_FLAGS -Xcompiler=-Wall,-Wextra,-Werror --Werror all-warnings -lineinfo)
else()
  set(GLM_OPS_CUDA_FLAGS -Xcompiler=-Wall,-Wextra -lineinfo)
endif()

# Kernels + host launchers: plain CUDA over device pointers, no ONNX Runtime headers.
file(GLOB GLM_OPS_CUDA_SOURCES CONFIGURE_DEPENDS "${GLM_OPS_ROOT}/src/cuda/*.cu")
add_library(glm_ops_cuda STATIC ${GLM_OPS_CUDA_SOURCES})
target_include_directories(glm_ops_cuda PUBLIC "${GLM_OPS_ROOT}/include" "${GLM_OPS_ROOT}/src")
target_link_libraries(glm_ops_cuda PUBLIC glm_ops_kernels CUDA::cudart_static)
target_compile_options(glm_ops_cuda PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:${GLM_OPS_CUDA_FLAGS}>)
set_target_properties(glm_ops_cuda PROPERTIES CUDA_ARCHITECTURES "${GLM_OPS_CUDA_ARCHITECTURES}"
                                              POSITION_INDEPENDENT_CODE ON CUDA_SEPARABLE_COMPILATION OFF
                                              CUDA_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden)

# CUDA-EP wrappers: only where the ONNX Runtime headers are (the main project).
if(GLM_OPS_HAVE_ORT)
  file(GLOB GLM_OPS_CUDA_ORT_SOURCES CONFIGURE_DEPENDS "${GLM_OPS_ROOT}/src/cuda/ort/*.cc")
  target_sources(glm_onnx_ops PRIVATE ${GLM_OPS_CUDA_ORT_SOURCES})
  target_compile_definitions(glm_onnx_ops PRIVATE GLM_OPS_WITH_CUDA=1)
  target_link_libraries(glm_onnx_ops PRIVATE glm_ops_cuda CUDA::cudart_static)
endif()

if(GLM_OPS_BUILD_GPU_TOOLS)
  file(GLOB GLM_OPS_GPU_TEST_SOURCES CONFIGURE_DEPENDS "${GLM_OPS_ROOT}/gpu-tests/*.cc")
  add_executable(glm_ops_gpu_parity ${GLM_OPS_GPU_TEST_SOURCES})
  target_include_directories(glm_ops_gpu_parity PRIVATE "${GLM_OPS_ROOT}/gpu-tests")
  target_link_libraries(glm_ops_gpu_parity PRIVATE glm_ops_cuda glm_ops_reference)
  target_compile_options(glm_ops_gpu_parity PRIVATE -O2 -Wall -Wextra -Werror)

  file(GLOB GLM_OPS_GPU_BENCH_SOURCES CONFIGURE_DEPENDS "${GLM_OPS_ROOT}/gpu-bench/*.cc"
       "${GLM_OPS_ROOT}/gpu-bench/*.cu")
  add_executable(glm_ops_gpu_bench ${GLM_OPS_GPU_BENCH_SOURCES})
  target_include_directories(glm_ops_gpu_bench PRIVATE "${GLM_OPS_ROOT}/gpu-bench" "${GLM_OPS_ROOT}/gpu-tests")
  target_link_libraries(glm_ops_gpu_bench PRIVATE glm_ops_cuda)
  target_compile_options(glm_ops_gpu_bench PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-O2 -Wall -Wextra -Werror>
                                                   $<$<COMPILE_LANGUAGE:CUDA>:${GLM_OPS_CUDA_FLAGS}>)
  set_target_properties(glm_ops_gpu_bench PROPERTIES CUDA_ARCHITECTURES "${GLM_OPS_CUDA_ARCHITECTURES}")
endif()
