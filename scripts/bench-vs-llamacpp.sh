#!/usr/bin/env bash
# Side by side with llama.cpp on CPU (issue #13): the same synthetic checkpoint run by our engine (`glm-run bench`) and
# by llama.cpp (LLamaSharp.Backend.Cpu 0.30.0 through the LlamaAnchor console of the llama.cpp tools folder), same
# prompt lengths, output length and threads, runs interleaved (order reversed every round) so both see the same load.
# Prints prefill tok/s, decode ms/token, CPU seconds beside wall seconds, peak RSS against artifact size, bytes of
# weights read per decode token (scripts/bytes-per-token.py), the read-bandwidth floor (DecodeBench bandwidth) and each
# engine's fraction of it, and ours / llama.cpp per matched precision (fp32~f32, bf16~bf16, int8~q8_0, int4~q4_0 and
# q4_k_m), medians over rounds, load average before/after each run; then llama.cpp's logits against a fixture's
# transformers reference.
#
#   dotnet build Glm.Onnx.sln -c Release && scripts/bench-vs-llamacpp.sh
#   MODEL=slice scripts/bench-vs-llamacpp.sh        # the 4-layer real-width GLM-5.2 slice (scripts/make-glm52-slice.sh)
#
# Knobs (environment):
#   MODEL        small (default: `glm-convert synth --preset small --seed 1`) or slice (the bf16 checkpoint and GGUFs
#                of scripts/make-glm52-slice.sh in SLICE, default out/glm52-slice)
#   PRECISIONS   our artifact precisions (glm-convert convert --precision): default "fp32 bf16 int8 int4" (small),
#                "bf16 int8 int4" (slice)
#   GGUF_TYPES   llama.cpp weight types: default "f32 bf16 q8_0 q4_0 q4_k_m" (small), "bf16 q8_0 q4_0 q4_k_m" (slice);
#                made by scripts/llamacpp-gguf.sh (small: f32/bf16/q8_0 by hf_to_gguf.py, the rest by llama.cpp's
#                quantizer from the f32 GGUF; slice: bf16 by hf_to_gguf.py, every quantized type from it)
#   PRUNE        1: run one matched group at a time (our precision + its GGUFs), making its files just before and
#                deleting them after; the quantizer's bf16 source GGUF is deleted once the group's GGUFs are made
#                (unless the group runs it) and re-made for a later group (the slice's ~38 GB of artifacts and GGUFs
#                do not fit the disk at once; peak = the bf16 pair, ~18.2 GB; ~14.4 GB without bf16). Default 0
#                (small: all files kept, every run interleaved with every other), 1 (slice). Ratios compare runs of
#                one group, so they stay same-window comparisons.
#   GROUPED      1: one matched group at a time as PRUNE=1 does, but nothing made is deleted (files made beforehand,
#                e.g. WORK=/work SLICE=/work/slice so that MDIR = SLICE holds the artifacts and GGUFs; each group's
#                files then fit the page cache, where every run interleaved with every other would re-read them from
#                disk). Default: PRUNE's value (small), 1 (slice)
#   BANDWIDTH_GBPS  the read-bandwidth probe's figure; default: measured once here by `DecodeBench bandwidth 1024 9`
#                (~1 min). The floor the table uses is the larger of it and the fastest weight stream any run here
#                demonstrated (summarize-vs-llamacpp.py prints both)
#   PROMPTS ("32 512"; slice "32"), OUTPUT (32; slice 16), THREADS (2), REPEATS (3, inside each run), ROUNDS (3)
#   LLAMACPP_TOOLS  the llama.cpp tools folder (hf_to_gguf.py, LlamaAnchor/): default the shared fixtures' tools/llamacpp
#                next to the repository (see TOOLS below); read only, nothing is written there
#   FIXTURE      checkpoint with reference.safetensors for the fidelity check (default the shared glm52-tiny fixture)
#   WORK         where checkpoints, artifacts, GGUFs, the LlamaAnchor build and results go (default out/bench-vs-llamacpp)
#   WAIT_QUIET   1: before each run wait up to 2 minutes for a 1-minute load average below 0.5 (default 0)
#   WARM         1 (default): before a group's rounds, read each of its files once (artifacts and GGUFs) so both
#                engines start from the page cache. llama.cpp maps its GGUF with MAP_POPULATE (the whole file read
#                at load); ours maps the artifacts and reads a weight when first used, so embedding rows of tokens not
#                seen since another run evicted them came from disk inside the timed decode steps (~10 ms per step
#                on the slice at int4). 0: leave the page cache as it is
#   PROFILE      1 (default): also profile one run of ours per precision (ONNX Runtime profiler, per-op share)
#   PYTHON       a python3 with numpy (default /usr/bin/python3; Debian: apt-get install python3-numpy)
#   OURS_EXTRA   extra `glm-run bench` options for our runs, e.g. "--spin on" (ONNX Runtime's workers spin-wait between
#                parallel sections, as llama.cpp's threads do) or "--spin off". glm-run's default is --spin auto: it
#                spins when the cores are idle as each run loads, so a quiet window spins and a loaded one does not;
#                name the setting to compare like with like (each run's choice is in stderr.log, "note: intra-op ...")
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
        PRECISIONS="${PRECISIONS:-fp32 bf16 int8 int4}"; GGUF_TYPES="${GGUF_TYPES:-f32 bf16 q8_0 q4_0 q4_k_m}"
        PROMPTS="${PROMPTS:-32 512}"; OUTPUT="${OUTPUT:-32}"; PRUNE="${PRUNE:-0}"; GROUPED="${GROUPED:-$PRUNE}"
        export SOURCE_TYPE="${SOURCE_TYPE:-f32}" DIRECT_TYPES="${DIRECT_TYPES:-f32 f16 bf16 q8_0}"
        CHECKPOINT="$WORK/small/checkpoint"; GGUF_DIR="$WORK/small" ;;
    slice)
        PRECISIONS="${PRECISIONS:-bf16 int8 int4}"; GGUF_TYPES="${GGUF_TYPES:-bf16 q8_0 q4_0 q4_k_m}"
        PROMPTS="${PROMPTS:-32}"; OUTPUT="${OUTPUT:-16}"; PRUNE="${PRUNE:-1}"; GROUPED="${GROUPED:-1}"
        export SOURCE_TYPE="${SOURCE_TYPE:-bf16}" DIRECT_TYPES="${DIRECT_TYPES:-f32 f16 bf16}"
        SLICE="${SLICE:-$ROOT/out/glm52-slice}"; CHECKPOINT="$SLICE/bf16"; GGUF_DIR="$SLICE" ;;
    *) echo "error: MODEL must be small or slice, got '$MODEL'" >&2; exit 2 ;;
esac
MDIR="$WORK/$MODEL"
export ANCHOR_BUILD="$WORK/llamacpp-build" THREADS LLAMACPP_TOOLS="$TOOLS" PYTHON
HELPER="$ROOT/bench/Glm.Onnx.DecodeBench/bin/$BIN/Glm.Onnx.DecodeBench.dll"
RESULTS="$MDIR/results.jsonl"; WEIGHTS="$MDIR/weights.jsonl"

for f in "$CONVERT" "$RUN" "$HELPER"; do
    [[ -f "$f" ]] || { echo "error: $f is missing; run 'dotnet build Glm.Onnx.sln -c Release' in $ROOT first" >&2; exit 2; }
done
[[ -n "$TOOLS" && -f "$TOOLS/hf_to_gguf.py" && -d "$TOOLS/LlamaAnchor" ]] ||
    { echo "error: llama.cpp tools not found (hf_to_gguf.py, LlamaAnchor/); set LLAMACPP_TOOLS" >&2; exit 2; }
"$PYTHON" -c 'import numpy' 2>/dev/null ||
    { echo "error: $PYTHON has no numpy (Debian: apt-get install python3-numpy; or set PYTHON)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "error: /usr/bin/time is missing (apt-get install time): it measures CPU time and peak RSS" >&2; exit 2; }
# Before any run: a group whose GGUFs need no quantizer (the slice's bf16) would otherwise reach llama.cpp unbuilt.
ANCHOR="$("$ROOT/scripts/llamacpp-anchor.sh")"
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

# 2. Groups: each of our precisions with its llama.cpp match(es), then the unmatched GGUFs. With PRUNE=0 one group
# holds every run; with PRUNE=1 each group's files are made just before its runs and deleted after them.
match() { case "$1" in fp32) echo f32 ;; bf16) echo bf16 ;; int8) echo q8_0 ;; int4) echo "q4_0 q4_k_m" ;; *) echo "" ;; esac; }
GROUPS_=()
matched=" "
for p in $PRECISIONS; do
    group="ours:$p"
    for g in $(match "$p"); do
        if [[ " $GGUF_TYPES " == *" $g "* ]]; then group+=" llamacpp:$g"; matched+="$g "; fi
    done
    GROUPS_+=("$group")
done
rest=""
for g in $GGUF_TYPES; do if [[ "$matched" != *" $g "* ]]; then rest+=" llamacpp:$g"; fi; done
if [[ -n "$rest" ]]; then GROUPS_+=("${rest# }"); fi
if [[ "$GROUPED" != 1 && "$PRUNE" != 1 ]]; then
    all="${GROUPS_[*]}"; GROUPS_=("$all")
fi
gguf() { echo "$GGUF_DIR/llamacpp-$1.gguf"; }
ours_dir() { echo "$MDIR/ours-$1"; }

# Files of one group: our artifacts (glm-convert convert), the GGUFs (scripts/llamacpp-gguf.sh), and for each its
# weight bytes per decoded token (scripts/bytes-per-token.py), appended to weights.jsonl.
prepare() {
    local entry precision
    for entry in $1; do # GGUFs first: with PRUNE=1 the quantizer's source can go before our artifacts are written
        [[ "$entry" == llamacpp:* ]] || continue
        precision="${entry#*:}"
        "$ROOT/scripts/llamacpp-gguf.sh" "$CHECKPOINT" "$GGUF_DIR" "$precision"
        "$PYTHON" "$ROOT/scripts/bytes-per-token.py" gguf "$(gguf "$precision")" --label "llamacpp:$precision" >> "$WEIGHTS"
    done
    if [[ "$PRUNE" == 1 && " $1 " != *" llamacpp:$SOURCE_TYPE "* && -f "$(gguf "$SOURCE_TYPE")" ]]; then
        echo "deleting the quantizer's source $(gguf "$SOURCE_TYPE") (PRUNE=1: re-made if a later group needs it)"
        rm -f "$(gguf "$SOURCE_TYPE")"
    fi
    for entry in $1; do
        [[ "$entry" == ours:* ]] || continue
        precision="${entry#*:}"
        if [[ ! -f "$(ours_dir "$precision")/glm-model.json" ]]; then
            echo "glm-convert convert --precision $precision   [disk $(df -h --output=avail "$MDIR" | tail -1 | tr -d ' ') free]"
            dotnet "$CONVERT" convert "$CHECKPOINT" "$(ours_dir "$precision")" --precision "$precision" --force
        fi
        "$PYTHON" "$ROOT/scripts/bytes-per-token.py" ours "$(ours_dir "$precision")" --label "ours:$precision" >> "$WEIGHTS"
    done
}

# WARM=1: every file of the group read once, so that no timed step waits for the disk.
warm() {
    local entry precision
    [[ "${WARM:-1}" == 1 ]] || return 0
    for entry in $1; do
        precision="${entry#*:}"
        if [[ "$entry" == ours:* ]]; then cat "$(ours_dir "$precision")"/* > /dev/null
        else cat "$(gguf "$precision")" > /dev/null; fi
    done
}

# PRUNE=1: after a group, its files go.
prune() {
    local entry engine precision
    for entry in $1; do
        engine="${entry%%:*}"; precision="${entry#*:}"
        if [[ "$engine" == ours ]]; then rm -rf "$(ours_dir "$precision")" "$(ours_dir "$precision").lock"
        else rm -f "$(gguf "$precision")"; fi
    done
}

# 3. The read-bandwidth floor: DecodeBench's probe (several read patterns on huge pages, the best pattern's median;
# docs/benchmarks.md, "The read-bandwidth floor"), once, before the runs. The summary raises it to the fastest weight
# stream a run demonstrates (a floor is the fastest rate shown reachable).
if [[ -z "${BANDWIDTH_GBPS:-}" ]]; then
    echo "read-bandwidth probe (DecodeBench bandwidth 1024 9 $THREADS)   [load $(load)]"
    BANDWIDTH_GBPS=$(dotnet "$HELPER" bandwidth 1024 9 "$THREADS" | tee "$MDIR/bandwidth.txt" | awk '$1 == "read_bandwidth_GBps" { print $2 }')
    [[ -n "$BANDWIDTH_GBPS" ]] || { echo "error: the bandwidth probe printed no read_bandwidth_GBps line ($MDIR/bandwidth.txt)" >&2; exit 1; }
    echo "read_bandwidth_GBps $BANDWIDTH_GBPS   [load $(load)]"
fi

# 4. Interleaved runs, per group: order reversed on even rounds. Every run is wrapped in /usr/bin/time (process wall
# and CPU seconds, peak RSS). With PROFILE=1, one profiled run of ours per precision follows its group's rounds
# (ONNX Runtime's profiler through `glm-run bench --profile`, warm-up and prefill runs included, decode steps dominate
# at prompt 32), summarised per op type by DecodeBench.
: > "$RESULTS"; : > "$WEIGHTS"
TIMEF="$MDIR/time.txt"
for gi in "${!GROUPS_[@]}"; do
    read -r -a ORDER <<<"${GROUPS_[$gi]}"
    prepare "${GROUPS_[$gi]}"
    warm "${GROUPS_[$gi]}"
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
                    line=$(/usr/bin/time -f '%e %U %S %M' -o "$TIMEF" dotnet "$RUN" bench --model "$(ours_dir "$precision")" \
                        --threads "$THREADS" --prompt-length "$prompt" --output-length "$OUTPUT" --concurrency 1 \
                        --repeats "$REPEATS" ${OURS_EXTRA:-} 2>>"$MDIR/stderr.log" | tail -1)
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
    if [[ "${PROFILE:-1}" == 1 ]]; then
        for entry in "${ORDER[@]}"; do
            [[ "$entry" == ours:* ]] || continue
            p="${entry#ours:}"; pdir="$MDIR/profile-$p"; rm -rf "$pdir"; mkdir -p "$pdir"
            echo
            echo "ONNX Runtime profile, ours $p, prompt 32, output $OUTPUT, 1 repeat   [load $(load)]"
            dotnet "$RUN" bench --model "$(ours_dir "$p")" --threads "$THREADS" --prompt-length 32 --output-length "$OUTPUT" \
                --concurrency 1 --repeats 1 --profile "$pdir/run" 2>>"$MDIR/stderr.log" | grep -v '^profile:'
            dotnet "$HELPER" profile "$pdir"/run*.json
            rm -rf "$pdir"
        done
    fi
    if [[ "$PRUNE" == 1 ]]; then prune "${GROUPS_[$gi]}"; fi
done

echo
echo "$MODEL: threads $THREADS, output $OUTPUT, $REPEATS repeats per run, medians over $ROUNDS interleaved rounds$([[ "$PRUNE" == 1 || "$GROUPED" == 1 ]] && echo ", one matched group at a time")"
ACTIVE=$(dotnet "$CONVERT" inspect "$CHECKPOINT" --json | grep -o '"active_per_token": *[0-9]*' | grep -o '[0-9]*$')
echo "active parameters per token: $ACTIVE; read-bandwidth floor: $BANDWIDTH_GBPS GB/s"
"$PYTHON" "$ROOT/scripts/summarize-vs-llamacpp.py" "$RESULTS" --weights "$WEIGHTS" --bandwidth "$BANDWIDTH_GBPS"

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
