#!/usr/bin/env bash
# Decode throughput on CPU against the memory-bandwidth floor (issue #5). Run from anywhere after
#   dotnet build -c Release          (the solution: glm-convert, glm-run, bench/Glm.Onnx.DecodeBench)
# Steps: synthesise the `small` preset (bf16, fixed seed) into out/bench-decode/ (reused when present), convert it at
# fp32 and bf16 (reused), measure plain memory-read bandwidth, run `glm-run bench` at concurrency 1 and 8 for both
# precisions, compare the decode step time at two pool sizes (10x apart), profile one decode run with ONNX Runtime's
# profiler, and print a table. Every measurement line carries `uptime`: on a shared machine the figures are only as
# good as the load average beside them.
# Knobs (environment): REPEATS (default 5), PROMPT (32), OUTPUT (32), SEED (1), POOL_BLOCKS (256; compared with 10x).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CONFIG=Release
BIN="net10.0/linux-x64"
CONVERT="$ROOT/converter/glm-convert/bin/$CONFIG/$BIN/glm-convert.dll"
RUN="$ROOT/runtime/glm-run/bin/$CONFIG/$BIN/glm-run.dll"
HELPER="$ROOT/bench/Glm.Onnx.DecodeBench/bin/$CONFIG/$BIN/Glm.Onnx.DecodeBench.dll"
WORK="$ROOT/out/bench-decode"
CHECKPOINT="$WORK/small-bf16"
REPEATS="${REPEATS:-5}"
PROMPT="${PROMPT:-32}"
OUTPUT="${OUTPUT:-32}"
SEED="${SEED:-1}"
POOL_BLOCKS="${POOL_BLOCKS:-256}"

for dll in "$CONVERT" "$RUN" "$HELPER"; do
    if [[ ! -f "$dll" ]]; then
        echo "error: $dll is missing; run 'dotnet build -c Release' in $ROOT first" >&2
        exit 2
    fi
done
mkdir -p "$WORK"
load() { uptime | sed 's/.*load average/load average/'; }

# 1. Checkpoint (bf16, fixed seed), reused when a finished one is there.
if [[ -f "$CHECKPOINT/config.json" && -f "$CHECKPOINT/model.safetensors" ]]; then
    echo "reusing checkpoint $CHECKPOINT"
else
    dotnet "$CONVERT" synth "$CHECKPOINT" --preset small --dtype bf16 --seed "$SEED" --overwrite
fi

# 2. Artifacts at both precisions, reused when a finished conversion (its manifest) is there.
for precision in fp32 bf16; do
    if [[ -f "$WORK/small-$precision.onnx/glm-model.json" ]]; then
        echo "reusing $WORK/small-$precision.onnx"
    else
        dotnet "$CONVERT" convert "$CHECKPOINT" "$WORK/small-$precision.onnx" --precision "$precision" --force
    fi
done

# 3. Active parameters per token, from the checkpoint's headers.
ACTIVE=$(dotnet "$CONVERT" inspect "$CHECKPOINT" --json | grep -o '"active_per_token": *[0-9]*' | grep -o '[0-9]*$')
echo "active parameters per token: $ACTIVE"

# 4. Memory-read bandwidth (1 GiB, all cores, median of 9 per read pattern; the last line is the best pattern's).
dotnet "$HELPER" bandwidth 1024 9 | tee "$WORK/bandwidth.txt"
BW_LINE=$(tail -1 "$WORK/bandwidth.txt")
BW=$(echo "$BW_LINE" | awk '{print $2}')
echo "$BW_LINE   [$(load)]"

# 5. Decode throughput: glm-run bench prints one data line per pool size; its last line is the one we want.
declare -A TPS STEP CPU
for precision in fp32 bf16; do
    for conc in 1 8; do
        line=$(dotnet "$RUN" bench --model "$WORK/small-$precision.onnx" --prompt-length "$PROMPT" --output-length "$OUTPUT" \
            --concurrency "$conc" --repeats "$REPEATS" | tail -1)
        echo "bench $precision conc $conc: $line   [$(load)]"
        TPS[$precision,$conc]=$(echo "$line" | awk '{print $7}')
        STEP[$precision,$conc]=$(echo "$line" | awk '{print $9}')
        CPU[$precision,$conc]=$(echo "$line" | awk '{print $10}')
    done
done

# 6. Decode step time against pool size (same prompt and output, pool 10x larger): a per-step pool copy would show.
echo "pool-size comparison (fp32, concurrency 1):   [$(load)]"
dotnet "$RUN" bench --model "$WORK/small-fp32.onnx" --prompt-length "$PROMPT" --output-length "$OUTPUT" \
    --concurrency 1 --repeats "$REPEATS" --pool-blocks "$POOL_BLOCKS,$((POOL_BLOCKS * 10))"

# 7. Where the time goes: one profiled decode run (short prompt, so decode steps dominate the profile).
PROFILE_DIR="$WORK/profile"
rm -rf "$PROFILE_DIR" && mkdir -p "$PROFILE_DIR"
echo "ONNX Runtime profile (fp32, concurrency 1, prompt 8, output $OUTPUT, warm-up and prefill runs included):   [$(load)]"
dotnet "$RUN" bench --model "$WORK/small-fp32.onnx" --prompt-length 8 --output-length "$OUTPUT" --concurrency 1 --repeats 1 \
    --profile "$PROFILE_DIR/fp32" | tail -2
dotnet "$HELPER" profile "$PROFILE_DIR"/fp32*.json

# 8. The table. Floor = tokens/s if every token only had to stream its active weights once at the measured
# bandwidth. At concurrency 8 the tokens of a step share weight reads, so the per-token floor is no bound there
# (a fraction above 1 is possible and means weight reuse, not an error).
echo
echo "decode on CPU, small preset ($ACTIVE active parameters/token), read bandwidth $BW GB/s   [$(load)]"
printf '%-6s %5s %14s %16s %15s %22s %18s %10s\n' precision conc decode_tok/s decode_step_ms step_cpu_ms active_weight_MB/tok bandwidth_floor_tok/s fraction
for precision in fp32 bf16; do
    bytes=$([[ $precision == fp32 ]] && echo 4 || echo 2)
    for conc in 1 8; do
        awk -v p="$precision" -v c="$conc" -v tps="${TPS[$precision,$conc]}" -v step="${STEP[$precision,$conc]}" -v cpu="${CPU[$precision,$conc]}" \
            -v active="$ACTIVE" -v b="$bytes" -v bw="$BW" 'BEGIN {
                mb = active * b / 1e6; floor = bw * 1e9 / (active * b);
                printf "%-9s %5d %14.1f %16.1f %15.1f %22.1f %18.1f %10.2f\n", p, c, tps, step, cpu, mb, floor, tps / floor }'
    done
done
