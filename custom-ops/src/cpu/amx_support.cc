#include "cpu/amx_support.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace glm_ops::cpu {

namespace {

constexpr long kArchReqXcompPerm = 0x1023;  // arch_prctl: ask for an extended state component
constexpr long kXfeatureXtiledata = 18;     // the AMX tile data component

// Asked the way CpuHasAvx512Kernels (cpu/isa_dispatch.cc) asks for AVX-512: the compiler's CPUID feature table.
bool CpuHasAmxBf16() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("amx-tile") && __builtin_cpu_supports("amx-bf16");
}

bool Decide() {
  const char* env = std::getenv("GLM_OPS_AMX");
  if (env && (std::strcmp(env, "off") == 0 || std::strcmp(env, "0") == 0)) return false;
  if (!CpuHasAmxBf16()) return false;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

std::atomic<bool>& Enabled() {
  static std::atomic<bool> enabled{AmxUsable()};
  return enabled;
}

}  // namespace

bool AmxUsable() {
  static const bool usable = Decide();
  return usable;
}

bool SetAmxEnabled(bool enabled) {
  Enabled().store(enabled && AmxUsable(), std::memory_order_relaxed);
  return AmxEnabled();
}

bool AmxEnabled() { return Enabled().load(std::memory_order_relaxed); }

}  // namespace glm_ops::cpu
