#!/usr/bin/env bash
# bf16 projections before / after DenseProjection at their stored width (issue #13): the `small` preset (seed 1)
# converted at bf16 by two builds (A: e.g. a copy of main's build before the change; B: this checkout's), then
# scripts/bench-decode-ab.sh alternates them at decode (prompt 32) and at prefill (prompt 512), and glm-run bench --json
# prints resident memory after load beside the artifacts' bytes. Each A/B line carries the load average.
# Usage: scripts/bench-stored-width-ab.sh A_BUILD_DIR [WORK_DIR]
#   A_BUILD_DIR holds the A side's glm-convert/ and glm-run/ folders (copies of
#   converter/glm-convert/bin/Release/net10.0/linux-x64 and runtime/glm-run/bin/Release/net10.0/linux-x64).
# Knobs (environment): ROUNDS (3). Build this checkout first: dotnet build Glm.Onnx.sln -c Release.
set -euo pipefail
if [[ $# -lt 1 ]]; then
    echo "usage: $0 A_BUILD_DIR [WORK_DIR]" >&2
    exit 2
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
A_BUILD=$(cd "$1" && pwd)
WORK=${2:-$ROOT/out/bench-stored-width}
B_CONVERT=$ROOT/converter/glm-convert/bin/Release/net10.0/linux-x64
B_RUN=$ROOT/runtime/glm-run/bin/Release/net10.0/linux-x64
for f in "$A_BUILD/glm-convert/glm-convert.dll" "$A_BUILD/glm-run/glm-run.dll" "$B_CONVERT/glm-convert.dll" "$B_RUN/glm-run.dll"; do
    [[ -f "$f" ]] || { echo "error: $f is missing" >&2; exit 2; }
done
mkdir -p "$WORK"
[[ -f "$WORK/ckpt/config.json" ]] || dotnet "$B_CONVERT/glm-convert.dll" synth "$WORK/ckpt" --preset small --seed 1 >/dev/null
[[ -f "$WORK/bf16-A/glm-model.json" ]] || dotnet "$A_BUILD/glm-convert/glm-convert.dll" convert "$WORK/ckpt" "$WORK/bf16-A" --precision bf16 >/dev/null
[[ -f "$WORK/bf16-B/glm-model.json" ]] || dotnet "$B_CONVERT/glm-convert.dll" convert "$WORK/ckpt" "$WORK/bf16-B" --precision bf16 >/dev/null

echo "columns: pool_blocks pool_MiB prompt output conc prefill_tok/s decode_tok/s ttft_ms decode_step_ms decode_cpu_ms ..."
echo "== decode, prompt 32, output 32, concurrency 1"
ROUNDS=${ROUNDS:-3} CONCS=1 PROMPT=32 OUTPUT=32 "$ROOT/scripts/bench-decode-ab.sh" "$A_BUILD/glm-run" "$WORK/bf16-A" "$B_RUN" "$WORK/bf16-B"
echo "== prefill, prompt 512, output 8, concurrency 1"
ROUNDS=${ROUNDS:-3} CONCS=1 PROMPT=512 OUTPUT=8 "$ROOT/scripts/bench-decode-ab.sh" "$A_BUILD/glm-run" "$WORK/bf16-A" "$B_RUN" "$WORK/bf16-B"
echo "== resident memory (glm-run bench --json: prompt 8, output 4; bytes)"
for side in A B; do
    run=$([[ $side == A ]] && echo "$A_BUILD/glm-run" || echo "$B_RUN")
    dotnet "$run/glm-run.dll" bench --model "$WORK/bf16-$side" --prompt-length 8 --output-length 4 --repeats 1 --json 2>/dev/null | tail -1 |
        python3 -c "import json, sys; j = json.loads(sys.stdin.read()); print('$side', ' '.join(f'{k}={j[k]}' for k in ('artifact_bytes', 'rss_after_load_bytes', 'rss_end_bytes', 'hwm_end_bytes')))"
done
