// Every wrapper includes ONNX Runtime's C++ API through this header so that all translation units agree on
// ORT_API_MANUAL_INIT: the library never links libonnxruntime; register.cc receives the API table from ORT.
#pragma once

#define ORT_API_MANUAL_INIT
#include <onnxruntime_cxx_api.h>
#undef ORT_API_MANUAL_INIT
