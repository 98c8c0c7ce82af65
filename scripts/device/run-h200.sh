#!/usr/bin/env bash
# The one prepared script for a session that holds the H200 device (docs/cuda.md). Run from the repository root:
#   bash scripts/device/run-h200.sh            ($OUT must name the folder whose files come back)
# Phases, each time-boxed so the whole run stays under ~8 minutes:
#   1. build   (cmake + nvcc there: CPU reference kernels, CUDA kernels, parity harness, benchmark; no ORT, no .NET)
#   2. parity  (every CUDA kernel against the CPU kernel on the same random inputs; tiny, real and huge sizes)
#   3. bench   (MoE experts, sparse MLA decode, indexer decode; CUDA-event medians vs a device copy)
# Files under $OUT (8 at most come back): env.txt, run.log, parity.csv, parity.md, bench.csv, bench.md, summary.md.
# Exit status: 0 only when every phase succeeded; a failed phase is reported in summary.md and the run continues
# with the next phase when it can (benchmarks still run after a parity failure, not after a build failure).
set -uo pipefail

: "${OUT:?set OUT to the results folder}"
mkdir -p "$OUT"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="${GLM_GPU_BUILD_DIR:-/tmp/glm-gpu-build}"
LOG="$OUT/run.log"
SUMMARY="$OUT/summary.md"
BUILD_LIMIT="${GLM_BUILD_LIMIT_S:-240}"
PARITY_LIMIT="${GLM_PARITY_LIMIT_S:-150}"
BENCH_LIMIT="${GLM_BENCH_LIMIT_S:-120}"
status=0

log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$LOG"; }
phase_result() {  # name, exit code, seconds
  local verdict="ok"
  if [ "$2" -eq 124 ] || [ "$2" -eq 137 ]; then verdict="TIMED OUT"; elif [ "$2" -ne 0 ]; then verdict="FAILED ($2)"; fi
  echo "| $1 | $verdict | $3 s |" >> "$SUMMARY"
  log "phase $1: $verdict after $3 s"
  if [ "$2" -ne 0 ]; then grep -iE "error|FAIL" "$LOG" | tail -5 | sed 's/^/    /' >> "$SUMMARY"; fi
  [ "$2" -eq 0 ] || status=1
}

{
  echo "# H200 run $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
  uname -a
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv 2>&1
  nvcc --version 2>&1 | tail -2
  cmake --version 2>&1 | head -1
  g++ --version 2>&1 | head -1
  nproc
} > "$OUT/env.txt"
printf '# H200 run summary\n\n| phase | result | time |\n| --- | --- | --- |\n' > "$SUMMARY"

if [ "$(uname -m)" != "x86_64" ]; then
  log "FATAL: the CPU reference kernels need x86-64 (AVX2); this machine is $(uname -m)"
  echo "| build | FAILED: not x86-64 | 0 s |" >> "$SUMMARY"
  exit 1
fi

# 1. build ------------------------------------------------------------------------------------------------------
log "build: cmake -S custom-ops/gpu-tests -B $BUILD (sm_90)"
start=$SECONDS
timeout "$BUILD_LIMIT" bash -c "
  cmake -S '$ROOT/custom-ops/gpu-tests' -B '$BUILD' -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_CUDA_ARCHITECTURES=90 -DGLM_OPS_CUDA_WERROR=OFF &&
  cmake --build '$BUILD' --parallel \$(nproc)" >> "$LOG" 2>&1
rc=$?
phase_result build $rc $((SECONDS - start))
if [ $rc -ne 0 ]; then
  tail -40 "$LOG"
  exit 1
fi
grep -i "warning" "$LOG" | head -20 | sed 's/^/    /' >> "$SUMMARY" || true

# 2. parity -----------------------------------------------------------------------------------------------------
log "parity: tiny, real and huge sizes"
start=$SECONDS
timeout "$PARITY_LIMIT" "$BUILD/glm_ops_gpu_parity" --csv "$OUT/parity.csv" --md "$OUT/parity.md" 2>&1 | tee -a "$LOG"
rc=${PIPESTATUS[0]}
phase_result parity $rc $((SECONDS - start))

# 3. benchmarks -------------------------------------------------------------------------------------------------
log "bench: experts, sparse MLA decode, indexer decode"
start=$SECONDS
timeout "$BENCH_LIMIT" "$BUILD/glm_ops_gpu_bench" --csv "$OUT/bench.csv" --md "$OUT/bench.md" 2>&1 | tee -a "$LOG"
rc=${PIPESTATUS[0]}
phase_result bench $rc $((SECONDS - start))

{
  echo
  [ -f "$OUT/parity.md" ] && grep -E "cases,|FAIL" "$OUT/parity.md" | head -30
  echo
  [ -f "$OUT/bench.md" ] && sed -n '3,200p' "$OUT/bench.md"
} >> "$SUMMARY"
log "done: status $status (results in $OUT)"
exit $status
