#!/usr/bin/env bash
# Side by side with llama.cpp on CPU (issue #13): the same synthetic checkpoint run by our engine (`glm-run bench`) and
# by llama.cpp (LLamaSharp.Backend.Cpu 0.30.0 through the LlamaAnchor console of the llama.cpp tools folder), same
# prompt lengths, output length and threads, runs interleaved (order reversed every round) so both see the same load.
# Prints prefill tok/s, decode ms/token, CPU seconds beside wall seconds, peak RSS and ours / llama.cpp per matched
# precision (fp32~f32, bf16~bf16, int8~q8_0, int4~q4_0 and q4_k_m), medians over rounds, load average before/after each
# run; then llama.cpp's logits against a fixture's transformers reference.
#
#   dotnet build Glm.Onnx.sln -c Release && scripts/bench-vs-llamacpp.sh
#   MODEL=slice scripts/bench-vs-llamacpp.sh        # the 4-layer real-width GLM-5.2 slice (scripts/make-glm52-slice.sh)
#
# Knobs (environment):
#   MODEL        small (default: `glm-convert synth --preset small --seed 1`) or slice (the bf16 checkpoint and GGUFs
#                of scripts/make-glm52-slice.sh in SLICE, default out/glm52-slice)
#   PRECISIONS   our artifact precisions (glm-convert convert --precision): default "fp32 bf16" (small), "bf16" (slice);
#                add int8 / int4 once the converter has them
#   GGUF_TYPES   llama.cpp weight types: default "f32 bf16 q8_0 q4_0 q4_k_m" (small), "bf16 q8_0 q4_0 q4_k_m" (slice)
#   PROMPTS ("32 512"; slice "32"), OUTPUT (32; slice 16), THREADS (2), REPEATS (3, inside each run), ROUNDS (3)
#   LLAMACPP_TOOLS  the llama.cpp tools folder (hf_to_gguf.py, LlamaAnchor/): default the shared fixtures' tools/llamacpp
#                next to the repository (see TOOLS below); read only, nothing is written there
#   FIXTURE      checkpoint with reference.safetensors for the fidelity check (default the shared glm52-tiny fixture)
#   WORK         where checkpoints, artifacts, GGUFs, the LlamaAnchor build and results go (default out/bench-vs-llamacpp)
#   WAIT_QUIET   1: before each run wait up to 2 minutes for a 1-minute load average below 0.5 (default 0)
#   PROFILE      1 (default): also profile one run of ours per precision (ONNX Runtime profiler, per-op share)
#   PYTHON       a python3 with numpy (default /usr/bin/python3; Debian: apt-get install python3-numpy)
# Everything built is reused when present (delete WORK/<model> to rebuild).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="Release/net10.0/linux-x64"
CONVERT="$ROOT/converter/glm-convert/bin/$BIN/glm-convert.dll"
RUN="$ROOT/runtime/glm-run/bin/$BIN/glm-run.dll"
MODEL="${MODEL:-small}"
THREADS="${THREADS:-2}"; REPEATS="${REPEATS:-3}"; ROUNDS="${ROUNDS:-3}"
TOOLS="$(cd "${LLAMACPP_TOOLS:-$ROOT/../shared/tools/llamacpp}" 2>/dev/null && pwd || true)"
FIXTURE="${FIXTURE:-$ROOT/../shared/fixtures/glm/glm52-tiny}"
WORK="${WORK:-$ROOT/out/bench-vs-llamacpp}"
PYTHON="${PYTHON:-/usr/bin/python3}"
case "$MODEL" in
    small)
        PRECISIONS="${PRECISIONS:-fp32 bf16}"; GGUF_TYPES="${GGUF_TYPES:-f32 bf16 q8_0 q4_0 q4_k_m}"
        PROMPTS="${PROMPTS:-32 512}"; OUTPUT="${OUTPUT:-32}"
        CHECKPOINT="$WORK/small/checkpoint"; GGUF_DIR="$WORK/small" ;;
    slice)
        PRECISIONS="${PRECISIONS:-bf16}"; GGUF_TYPES="${GGUF_TYPES:-bf16 q8_0 q4_0 q4_k_m}"
        PROMPTS="${PROMPTS:-32}"; OUTPUT="${OUTPUT:-16}"
        SLICE="${SLICE:-$ROOT/out/glm52-slice}"; CHECKPOINT="$SLICE/bf16"; GGUF_DIR="$SLICE" ;;
    *) echo "error: MODEL must be small or slice, got '$MODEL'" >&2; exit 2 ;;
esac
MDIR="$WORK/$MODEL"
ANCHOR="$WORK/llamacpp-build/bin/LlamaAnchor/release/LlamaAnchor.dll"
RESULTS="$MDIR/results.jsonl"

for f in "$CONVERT" "$RUN"; do
    [[ -f "$f" ]] || { echo "error: $f is missing; run 'dotnet build Glm.Onnx.sln -c Release' in $ROOT first" >&2; exit 2; }
done
[[ -n "$TOOLS" && -f "$TOOLS/hf_to_gguf.py" && -d "$TOOLS/LlamaAnchor" ]] ||
    { echo "error: llama.cpp tools not found (hf_to_gguf.py, LlamaAnchor/); set LLAMACPP_TOOLS" >&2; exit 2; }
"$PYTHON" -c 'import numpy' 2>/dev/null ||
    { echo "error: $PYTHON has no numpy (Debian: apt-get install python3-numpy; or set PYTHON)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "error: /usr/bin/time is missing (apt-get install time): it measures CPU time and peak RSS" >&2; exit 2; }
mkdir -p "$MDIR"
load() { cut -d' ' -f1-3 /proc/loadavg; }

# 1. The checkpoint (small preset, bf16, seed 1), or the slice made by scripts/make-glm52-slice.sh.
if [[ ! -f "$CHECKPOINT/config.json" ]]; then
    if [[ "$MODEL" == small ]]; then
        dotnet "$CONVERT" synth "$CHECKPOINT" --preset small --dtype bf16 --seed "${SEED:-1}" --overwrite
    else
        echo "error: $CHECKPOINT/config.json is missing: run scripts/make-glm52-slice.sh first (or set SLICE to its OUT)" >&2; exit 2
    fi
fi

# 2. Our artifacts, one folder per precision.
for p in $PRECISIONS; do
    [[ -f "$MDIR/ours-$p/glm-model.json" ]] || dotnet "$CONVERT" convert "$CHECKPOINT" "$MDIR/ours-$p" --precision "$p" --force
done

# 3. llama.cpp: the console, then the GGUFs (f32/f16/bf16/q8_0 by the converter; q4_0, q4_k_m, ... by llama.cpp's own
# quantizer, from the f32 GGUF, or bf16 for the slice).
[[ -f "$ANCHOR" ]] || dotnet build "$TOOLS/LlamaAnchor" -c Release -v q --nologo --artifacts-path "$WORK/llamacpp-build" >/dev/null
gguf() { echo "$GGUF_DIR/llamacpp-$1.gguf"; }
for t in $GGUF_TYPES; do
    case "$t" in
        f32|f16|bf16|q8_0)
            [[ -f "$(gguf "$t")" ]] || "$PYTHON" "$TOOLS/hf_to_gguf.py" "$CHECKPOINT" "$(gguf "$t")" --outtype "$t" --quiet ;;
    esac
done
for t in $GGUF_TYPES; do
    case "$t" in
        f32|f16|bf16|q8_0) ;;
        *)  if [[ ! -f "$(gguf "$t")" ]]; then
                # llama.cpp's quantizer wants an unquantized source: the f32 GGUF, else bf16 (written here if absent).
                source_type=f32; [[ "$MODEL" == slice ]] && source_type=bf16
                [[ -f "$(gguf "$source_type")" ]] ||
                    "$PYTHON" "$TOOLS/hf_to_gguf.py" "$CHECKPOINT" "$(gguf "$source_type")" --outtype "$source_type" --quiet
                dotnet "$ANCHOR" quantize "$(gguf "$source_type")" "$(gguf "$t")" "$t" --threads "$THREADS" >/dev/null
            fi ;;
    esac
done

# 4. Interleaved runs. Order: each of our precisions followed by its llama.cpp match(es), then unmatched GGUFs;
# reversed on even rounds. Every run is wrapped in /usr/bin/time (process wall and CPU seconds, peak RSS).
match() { case "$1" in fp32) echo f32 ;; bf16) echo bf16 ;; int8) echo q8_0 ;; int4) echo "q4_0 q4_k_m" ;; *) echo "" ;; esac; }
ORDER=()
matched=" "
for p in $PRECISIONS; do
    ORDER+=("ours:$p")
    for g in $(match "$p"); do
        [[ " $GGUF_TYPES " == *" $g "* ]] && { ORDER+=("llamacpp:$g"); matched+="$g "; }
    done
done
for g in $GGUF_TYPES; do [[ "$matched" == *" $g "* ]] || ORDER+=("llamacpp:$g"); done

: > "$RESULTS"
TIMEF="$MDIR/time.txt"
for round in $(seq 1 "$ROUNDS"); do
    runs=("${ORDER[@]}")
    if (( round % 2 == 0 )); then
        mapfile -t runs < <(printf '%s\n' "${ORDER[@]}" | tac)
    fi
    for prompt in $PROMPTS; do
        for entry in "${runs[@]}"; do
            engine="${entry%%:*}"; precision="${entry#*:}"
            if [[ "${WAIT_QUIET:-0}" == 1 ]]; then # up to 2 minutes for a 1-minute load average below 0.5
                for _ in $(seq 1 24); do awk -v l="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN { exit !(l < 0.5) }' && break; sleep 5; done
            fi
            before=$(load)
            if [[ "$engine" == ours ]]; then
                line=$(/usr/bin/time -f '%e %U %S %M' -o "$TIMEF" dotnet "$RUN" bench --model "$MDIR/ours-$precision" \
                    --threads "$THREADS" --prompt-length "$prompt" --output-length "$OUTPUT" --concurrency 1 \
                    --repeats "$REPEATS" 2>>"$MDIR/stderr.log" | tail -1)
                # glm-run bench's data line: ... prefill_tok/s (6) decode_tok/s (7) ttft_ms (8) decode_step_ms (9) decode_cpu_ms (10)
                read -r prefill decode_ms decode_cpu <<<"$(echo "$line" | awk '{print $6, $9, $10}')"
            else
                line=$(/usr/bin/time -f '%e %U %S %M' -o "$TIMEF" dotnet "$ANCHOR" bench "$(gguf "$precision")" \
                    --prompt "$prompt" --gen "$OUTPUT" --threads "$THREADS" --repeats "$REPEATS" 2>>"$MDIR/stderr.log" | tail -1)
                read -r prefill decode_ms <<<"$("$PYTHON" -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["prefill_tok_s_median"], d["decode_ms_per_tok_median_of_means"])' "$line")"
                decode_cpu=null
            fi
            read -r wall user sys rss_kb < "$TIMEF"
            after=$(load)
            printf '{"round": %d, "engine": "%s", "precision": "%s", "prompt": %d, "output": %d, "prefill_tok_s": %s, "decode_ms": %s, "decode_cpu_ms": %s, "wall_s": %s, "cpu_s": %.2f, "peak_rss_mb": %d, "load_before": "%s", "load_after": "%s"}\n' \
                "$round" "$engine" "$precision" "$prompt" "$OUTPUT" "$prefill" "$decode_ms" "$decode_cpu" "$wall" \
                "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" "$((rss_kb / 1024))" "$before" "$after" | tee -a "$RESULTS"
        done
    done
done

echo
echo "$MODEL: threads $THREADS, output $OUTPUT, $REPEATS repeats per run, medians over $ROUNDS interleaved rounds"
ACTIVE=$(dotnet "$CONVERT" inspect "$CHECKPOINT" --json | grep -o '"active_per_token": *[0-9]*' | grep -o '[0-9]*$')
echo "active parameters per token (weights read per decoded token): $ACTIVE"
"$PYTHON" "$ROOT/scripts/summarize-vs-llamacpp.py" "$RESULTS" "$ACTIVE"

# 5. Fidelity: llama.cpp (f32 GGUF, f32 KV cache, no flash attention) against the fixture's transformers reference.
if [[ -f "$FIXTURE/reference.safetensors" ]]; then
    FDIR="$WORK/fidelity"; mkdir -p "$FDIR"
    name="$(basename "$FIXTURE")"
    [[ -f "$FDIR/$name-f32.gguf" ]] || "$PYTHON" "$TOOLS/hf_to_gguf.py" "$FIXTURE" "$FDIR/$name-f32.gguf" --outtype f32 --quiet
    cases=()
    for c in short long; do
        "$PYTHON" - "$FIXTURE/reference.safetensors" "$c" > "$FDIR/$name.$c.ids" <<'PY'
import json, struct, sys
import numpy as np
f = open(sys.argv[1], "rb"); n = struct.unpack("<Q", f.read(8))[0]; h = json.loads(f.read(n)); base = 8 + n
t = h[sys.argv[2] + ".input_ids"]; f.seek(base + t["data_offsets"][0])
print(" ".join(str(int(x)) for x in np.frombuffer(f.read(t["data_offsets"][1] - t["data_offsets"][0]), dtype=np.int64)))
PY
        dotnet "$ANCHOR" logits "$FDIR/$name-f32.gguf" "$FDIR/$name.$c.ids" "$FDIR/$name.$c" --gen 12 --kv f32 --fa off >/dev/null
        cases+=("$c=$FDIR/$name.$c")
    done
    echo
    echo "llama.cpp fidelity on $name (f32 GGUF, --kv f32 --fa off):"
    "$PYTHON" "$ROOT/scripts/llamacpp-fidelity.py" "$FIXTURE/reference.safetensors" "${cases[@]}" || echo "fidelity: FAILED (above)"
else
    echo "fidelity: skipped, $FIXTURE/reference.safetensors not found (set FIXTURE)"
fi

# 6. Where our time goes: one profiled run per precision (ONNX Runtime's profiler through `glm-run bench --profile`;
# warm-up and prefill runs included, decode steps dominate at prompt 32), summarised per op type by DecodeBench.
if [[ "${PROFILE:-1}" == 1 ]]; then
    HELPER="$ROOT/bench/Glm.Onnx.DecodeBench/bin/$BIN/Glm.Onnx.DecodeBench.dll"
    for p in $PRECISIONS; do
        pdir="$MDIR/profile-$p"; rm -rf "$pdir"; mkdir -p "$pdir"
        echo
        echo "ONNX Runtime profile, ours $p, prompt 32, output $OUTPUT, 1 repeat   [load $(load)]"
        dotnet "$RUN" bench --model "$MDIR/ours-$p" --threads "$THREADS" --prompt-length 32 --output-length "$OUTPUT" \
            --concurrency 1 --repeats 1 --profile "$pdir/run" 2>>"$MDIR/stderr.log" | grep -v '^profile:'
        dotnet "$HELPER" profile "$pdir"/run*.json
    done
fi
