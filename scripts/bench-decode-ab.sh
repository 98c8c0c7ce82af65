#!/usr/bin/env bash
# Alternated A/B of the decode step: two glm-run builds (or two custom-op libraries beside copies of one build), each
# with its own artifacts, run in turn with the order swapped every round, so that both see the same load on a
# shared machine. Prints one line per run: glm-run bench's data line plus the load average.
# Usage: scripts/bench-decode-ab.sh A_GLM_RUN_DIR A_ARTIFACTS B_GLM_RUN_DIR B_ARTIFACTS
# Knobs (environment): ROUNDS (3), CONCS ("1 8"), PROMPT (32), OUTPUT (32), A_ENV / B_ENV (extra environment for
# one side, e.g. B_ENV="GLM_OPS_PARALLEL=own"), EXTRA (extra glm-run bench options for both sides), A_EXTRA / B_EXTRA
# (extra options for one side, e.g. A_EXTRA="--spin off" B_EXTRA="--spin on": glm-run's default, --spin auto, decides per run
# from the idle cores, so name the setting on both sides; or B_EXTRA="--ort-config session.dynamic_block_base=4").
set -euo pipefail
if [[ $# -ne 4 ]]; then
    echo "usage: $0 A_GLM_RUN_DIR A_ARTIFACTS B_GLM_RUN_DIR B_ARTIFACTS" >&2
    exit 2
fi
declare -A DIR=([A]="$1" [B]="$3") MODEL=([A]="$2" [B]="$4") ENVS=([A]="${A_ENV:-}" [B]="${B_ENV:-}") \
    SIDE_EXTRA=([A]="${A_EXTRA:-}" [B]="${B_EXTRA:-}")
for side in A B; do
    [[ -f "${DIR[$side]}/glm-run.dll" ]] || { echo "error: ${DIR[$side]}/glm-run.dll is missing" >&2; exit 2; }
    [[ -f "${MODEL[$side]}/glm-model.json" ]] || { echo "error: ${MODEL[$side]}/glm-model.json is missing" >&2; exit 2; }
done
for round in $(seq 1 "${ROUNDS:-3}"); do
    for conc in ${CONCS:-1 8}; do
        order="A B"; (( round % 2 == 0 )) && order="B A"
        for side in $order; do
            line=$(env ${ENVS[$side]} dotnet "${DIR[$side]}/glm-run.dll" bench --model "${MODEL[$side]}" \
                --prompt-length "${PROMPT:-32}" --output-length "${OUTPUT:-32}" --concurrency "$conc" --repeats 3 \
                ${EXTRA:-} ${SIDE_EXTRA[$side]} 2>/dev/null | tail -1)
            echo "round $round conc $conc $side: $line   [load $(uptime | sed 's/.*load average: //')]"
        done
    done
done
