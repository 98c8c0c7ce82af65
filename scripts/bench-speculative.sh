#!/usr/bin/env bash
# Speculative decoding on CPU (issue #14): the cost of a verify step with K = 1..4 draft tokens against a plain decode
# step, and the tokens/s at full acceptance (an oracle drafter replays the plain greedy output on top of the MTP
# passes, which still run and are timed), at concurrency 1 and 8, with the gain projected at GLM-5.2's published
# ~3.5 tokens per verify step. Random weights make real acceptance meaningless: only the oracle's figures mean
# anything here. Run from anywhere after `dotnet build -c Release`.
# Steps: synthesise the `small` preset with one MTP layer (bf16, fixed seed) into out/bench-speculative/ (reused),
# convert it at fp32 (reused), run `glm-run bench --oracle`. Knobs (environment): REPEATS (default 5), PROMPT (32),
# OUTPUT (32), SEED (1), KS (1,2,3,4), CONCURRENCY (1,8), PRECISION (fp32), THREADS (unset: ONNX Runtime's default).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="net10.0/linux-x64"
CONVERT="$ROOT/converter/glm-convert/bin/Release/$BIN/glm-convert.dll"
RUN="$ROOT/runtime/glm-run/bin/Release/$BIN/glm-run.dll"
WORK="$ROOT/out/bench-speculative"
CHECKPOINT="$WORK/small-mtp-bf16"
PRECISION="${PRECISION:-fp32}"
ARTIFACTS="$WORK/small-mtp-$PRECISION.onnx"

for dll in "$CONVERT" "$RUN"; do
    if [[ ! -f "$dll" ]]; then
        echo "error: $dll is missing; run 'dotnet build -c Release' in $ROOT first" >&2
        exit 2
    fi
done
mkdir -p "$WORK"

if [[ -f "$CHECKPOINT/config.json" && -f "$CHECKPOINT/model.safetensors" ]]; then
    echo "reusing checkpoint $CHECKPOINT"
else
    dotnet "$CONVERT" synth "$CHECKPOINT" --preset small --mtp-layers 1 --dtype bf16 --seed "${SEED:-1}" --overwrite
fi
if [[ -f "$ARTIFACTS/glm-model.json" ]]; then
    echo "reusing $ARTIFACTS"
else
    dotnet "$CONVERT" convert "$CHECKPOINT" "$ARTIFACTS" --precision "$PRECISION" --force
fi

echo "before: $(uptime | sed 's/.*load average/load average/')"
dotnet "$RUN" bench --model "$ARTIFACTS" --oracle --speculative-tokens "${KS:-1,2,3,4}" --concurrency "${CONCURRENCY:-1,8}" \
    --prompt-length "${PROMPT:-32}" --output-length "${OUTPUT:-32}" --repeats "${REPEATS:-5}" ${THREADS:+--threads "$THREADS"}
echo "after: $(uptime | sed 's/.*load average/load average/')"
