#!/usr/bin/env bash
# Server batching benchmark: 16 chat completions (64 tokens each, fixed seed) sent one after another vs all at once
# to `glm-run serve` on a model (default models/glm-tiny-chat, CPU). Prints the median wall time of each mode over
# RUNS repetitions and their ratio (how much the engine's continuous batching buys over serial requests).
# Usage: scripts/bench-serve.sh [model dir] [runs]   (needs glm-run built: dotnet build runtime/glm-run -c Release)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models/glm-tiny-chat}
runs=${2:-5}
dll=runtime/glm-run/bin/Release/net10.0/linux-x64/glm-run.dll
[ -f "$dll" ] || dll=runtime/glm-run/bin/Debug/net10.0/linux-x64/glm-run.dll
[ -f "$dll" ] || { echo "build runtime/glm-run first" >&2; exit 1; }
log=$(mktemp)
dotnet "$dll" serve --model "$model" --model-id bench --urls http://127.0.0.1:0 >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 200); do grep -q 'listening on' "$log" && break; sleep 0.1; done
url=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1)
[ -n "$url" ] || { cat "$log" >&2; exit 1; }
# A stop string that never occurs and ignore_eos-like behaviour are not available over the API: a fixed seed makes
# every request generate the same tokens, so serial and parallel runs do identical work.
body='{"model":"bench","messages":[{"role":"user","content":"Tell me a story"}],"max_tokens":64,"temperature":1,"seed":1}'
req() { curl -sS "$url/v1/chat/completions" -H 'Content-Type: application/json' -d "$body" -o /dev/null; }
req # warm-up
tokens=$(curl -sS "$url/v1/chat/completions" -H 'Content-Type: application/json' -d "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["usage"]["completion_tokens"])')
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
serial=(); parallel=()
for _ in $(seq "$runs"); do
  s=$(date +%s.%N); for _ in $(seq 16); do req; done; e=$(date +%s.%N); serial+=("$(echo "$e - $s" | bc)")
  s=$(date +%s.%N); pids=(); for _ in $(seq 16); do req & pids+=($!); done; wait "${pids[@]}"; e=$(date +%s.%N)
  parallel+=("$(echo "$e - $s" | bc)") # (a bare wait would also wait for the server)
done
ms=$(printf '%s\n' "${serial[@]}" | median); mp=$(printf '%s\n' "${parallel[@]}" | median)
echo "model $model: 16 requests x $tokens tokens, $runs runs"
echo "serial   median ${ms} s  ($(echo "16 * $tokens / $ms" | bc) tok/s)"
echo "parallel median ${mp} s  ($(echo "16 * $tokens / $mp" | bc) tok/s)"
echo "serial / parallel = $(echo "scale=2; $ms / $mp" | bc)"
