#include "cpu/dense_fp8_table.h"

#include <atomic>

namespace glm_ops::cpu {

namespace {
std::atomic<bool> table_enabled{true};
}  // namespace

bool SetFp8TableEnabled(bool enabled) { return table_enabled.exchange(enabled, std::memory_order_relaxed); }

bool Fp8TableEnabled() { return table_enabled.load(std::memory_order_relaxed); }

}  // namespace glm_ops::cpu
