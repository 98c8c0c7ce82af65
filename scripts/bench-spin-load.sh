#!/usr/bin/env bash
# Spinning under a controlled competing load (issue #13): our decode step with each spinning setting and llama.cpp
# (whose threads spin-wait at every graph barrier by default) on the same model, interleaved (order rotated every
# round), each with BUSY busy-loop processes running beside it (started before the round, stopped by PID after it).
# Prints one line per run: decode ms/token (wall), decode CPU ms/step (ours; llama.cpp: process CPU / tokens is not
# separable, so its process CPU seconds are printed), process wall and CPU seconds (/usr/bin/time), load average, and
# for ours what the spinning setting resolved to (glm-run bench's note).
#
#   scripts/bench-spin-load.sh OURS_ARTIFACTS LLAMACPP_GGUF
#   BUSY="0 1 2" ROUNDS=3 scripts/bench-spin-load.sh out/small-int4 out/small-q4_0.gguf
#
# Knobs (environment): BUSY ("0 1": busy-loop processes per block), ROUNDS (3), PROMPT (32), OUTPUT (16),
# THREADS (2), REPEATS (1, inside each run), SPINS (';'-separated glm-run option sets, default
# "--spin off;--spin on;--spin auto"), TIMEOUT (s per run, 300; a run past it prints "timeout"),
# ANCHOR (the LlamaAnchor.dll; default the bench-vs-llamacpp build under out/), LLAMA=0 to skip llama.cpp.
set -euo pipefail
if [[ $# -ne 2 ]]; then
    echo "usage: $0 OURS_ARTIFACTS LLAMACPP_GGUF" >&2
    exit 2
fi
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RUN="$ROOT/runtime/glm-run/bin/Release/net10.0/linux-x64/glm-run.dll"
ANCHOR="${ANCHOR:-$ROOT/out/bench-vs-llamacpp/llamacpp-build/bin/LlamaAnchor/release/LlamaAnchor.dll}"
MODEL="$1"; GGUF="$2"
THREADS="${THREADS:-2}"; PROMPT="${PROMPT:-32}"; OUTPUT="${OUTPUT:-16}"; REPEATS="${REPEATS:-1}"; TIMEOUT="${TIMEOUT:-300}"
IFS=';' read -r -a SPIN_SETS <<<"${SPINS:---spin off;--spin on;--spin auto}"
[[ -f "$RUN" ]] || { echo "error: $RUN is missing (dotnet build Glm.Onnx.sln -c Release)" >&2; exit 2; }
[[ -f "$MODEL/glm-model.json" ]] || { echo "error: $MODEL/glm-model.json is missing" >&2; exit 2; }
if [[ "${LLAMA:-1}" == 1 ]]; then
    [[ -f "$GGUF" ]] || { echo "error: $GGUF is missing" >&2; exit 2; }
    [[ -f "$ANCHOR" ]] || { echo "error: $ANCHOR is missing (set ANCHOR, or run scripts/bench-vs-llamacpp.sh once)" >&2; exit 2; }
fi
TIMEF="$(mktemp)"; ERRF="$(mktemp)"; BUSY_PIDS=()
stop_busy() { for pid in "${BUSY_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; BUSY_PIDS=(); }
trap 'stop_busy; rm -f "$TIMEF" "$ERRF"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }

run_one() { # label, then the command
    local label="$1"; shift
    local line rc=0
    line=$(timeout "$TIMEOUT" /usr/bin/time -f '%e %U %S' -o "$TIMEF" "$@" 2>"$ERRF" | tail -1) || rc=$?
    if [[ $rc -ne 0 ]]; then
        echo "busy $busy round $round $label: timeout or error (rc $rc)   [load $(load)]"
        return
    fi
    read -r wall user sys < "$TIMEF"
    local ms cpu
    if [[ "$label" == llama.cpp ]]; then
        ms=$(echo "$line" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["decode_ms_per_tok_median_of_means"])')
        cpu=-
    else
        # glm-run bench's data line: ... decode_step_ms (9) decode_cpu_ms (10)
        read -r ms cpu <<<"$(echo "$line" | awk '{print $9, $10}')"
    fi
    # glm-run bench says on stderr what the spinning setting resolved to (auto's idle sample included).
    local note; note=$(grep -o 'intra-op spinning [a-z]*.*' "$ERRF" | head -1 || true)
    printf 'busy %s round %s %-12s decode ms/token %8.2f  CPU ms/step %6s  process wall %6.2f s CPU %6.2f s   [load %s] %s\n' \
        "$busy" "$round" "$label" "$ms" "$cpu" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" "$(load)" "$note"
}

for busy in ${BUSY:-0 1}; do
    for _ in $(seq 1 "$busy"); do
        sh -c 'while :; do :; done' &
        BUSY_PIDS+=($!)
    done
    for round in $(seq 1 "${ROUNDS:-3}"); do
        entries=("${SPIN_SETS[@]}")
        [[ "${LLAMA:-1}" == 1 ]] && entries+=(llama.cpp)
        # Rotate the order every round so no configuration always runs first after the busy loops start.
        n=${#entries[@]}
        for ((k = 0; k < n; k++)); do
            entry="${entries[$(((k + round) % n))]}"
            if [[ "$entry" == llama.cpp ]]; then
                run_one llama.cpp dotnet "$ANCHOR" bench "$GGUF" --prompt "$PROMPT" --gen "$OUTPUT" --threads "$THREADS" --repeats "$REPEATS"
            else
                # shellcheck disable=SC2086 # the option set is split on purpose
                run_one "${entry// /_}" dotnet "$RUN" bench --model "$MODEL" --threads "$THREADS" --prompt-length "$PROMPT" \
                    --output-length "$OUTPUT" --concurrency "${CONC:-1}" --repeats "$REPEATS" $entry
            fi
        done
    done
    stop_busy
done
