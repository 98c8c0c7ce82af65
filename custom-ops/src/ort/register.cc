// Registration entry point ONNX Runtime calls when a session loads this library
// (SessionOptions.RegisterCustomOpLibrary / RegisterCustomOps).
#include <mutex>
#include <string>

#include "glm_ops/op_names.h"
#include "ort/op_registry.h"
#include "ort/ort_api.h"
#ifdef GLM_OPS_WITH_CUDA
#include "cuda/ort/cuda_op_registry.h"  // CUDA-EP kernels of the same ops (cmake/cuda.cmake)
#endif

namespace {

std::string BuildDescription() {
  std::string text = std::string(glm_ops::kDomain) + ";" + std::to_string(glm_ops::kDomainVersion);
#define GLM_APPEND_NAME(id, name) text += std::string(";") + name;
  GLM_OPS_LIST(GLM_APPEND_NAME)
#undef GLM_APPEND_NAME
  return text;
}

}  // namespace

extern "C" {

// "domain;version;OpA;OpB;..." : lets the managed side check its constants against the library it loaded.
__attribute__((visibility("default"))) const char* GlmOnnxOps_DescribeOps() {
  static const std::string description = BuildDescription();
  return description.c_str();
}

// 1 when this build registers the CUDA-EP kernels as well (built with nvcc), else 0. The runtime refuses to place a
// stage on CUDA without them: ORT would run the CPU kernels on host copies of the device pools and lose every write.
__attribute__((visibility("default"))) int GlmOnnxOps_HasCudaKernels() {
#ifdef GLM_OPS_WITH_CUDA
  return 1;
#else
  return 0;
#endif
}

__attribute__((visibility("default"))) OrtStatus* ORT_API_CALL RegisterCustomOps(OrtSessionOptions* options,
                                                                                  const OrtApiBase* api_base) {
  Ort::InitApi(api_base->GetApi(ORT_API_VERSION));
  try {
    static std::once_flag once;
    static Ort::CustomOpDomain* domain = nullptr;
    std::call_once(once, [] {
      domain = new Ort::CustomOpDomain(glm_ops::kDomain);  // lives as long as the process: ORT keeps pointers to it
      for (const OrtCustomOp* op : glm_ops::ort::AllCpuOps()) domain->Add(op);
#ifdef GLM_OPS_WITH_CUDA
      for (const OrtCustomOp* op : glm_ops::ort::AllCudaOps()) domain->Add(op);
#endif
    });
    Ort::UnownedSessionOptions session_options(options);
    session_options.Add(*domain);
    return nullptr;
  } catch (const Ort::Exception& e) {
    return Ort::GetApi().CreateStatus(e.GetOrtErrorCode(), e.what());
  } catch (const std::exception& e) {
    return Ort::GetApi().CreateStatus(ORT_FAIL, e.what());
  }
}

}  // extern "C"
