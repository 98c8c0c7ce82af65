// Whether this process may run Intel AMX tile instructions: the CPU reports AMX-TILE and AMX-BF16 (CPUID leaf 7),
// Linux grants the tile data state on request (arch_prctl ARCH_REQ_XCOMP_PERM, once per process), and the
// environment does not turn it off (GLM_OPS_AMX=off or 0; benchmarks and A/B runs). Decided once, on first use.
#pragma once

namespace glm_ops::cpu {

bool AmxUsable();

// Tests and benchmarks: turn the AMX path off (false) or back on where AmxUsable() (true) for the rest of the
// process; returns whether it is on afterwards. Not for use while kernels run on other threads.
bool SetAmxEnabled(bool enabled);

// Whether the AMX path is on now: AmxUsable() and not turned off by SetAmxEnabled(false).
bool AmxEnabled();

}  // namespace glm_ops::cpu
