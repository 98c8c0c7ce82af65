#!/usr/bin/env bash
# GGUFs of one checkpoint for llama.cpp, named GGUF_DIR/llamacpp-TYPE.gguf, without holding the model in memory.
# The shared converter (hf_to_gguf.py, numpy) writes the unquantized types, run through scripts/hf-to-gguf-chunked.py
# (same bytes; its whole-tensor encoding needed ~20 GB for the real-width slice's embedding). Its own q8_0 was
# OOM-killed on the 9 GB slice, so every block type (q8_0, q4_0, q4_k_m, ...) comes from llama.cpp's own quantizer
# (llama_model_quantize through `LlamaAnchor quantize`), which streams tensor by tensor from an unquantized source
# GGUF (SOURCE_TYPE, written here first if absent). Files present are reused.
#
#   scripts/llamacpp-gguf.sh CHECKPOINT GGUF_DIR TYPE...        # e.g. TYPE = bf16 q8_0 q4_0 q4_k_m
#
# Knobs (environment): SOURCE_TYPE (bf16: what the quantizer reads; f32 doubles the disk), DIRECT_TYPES (types the
# converter writes itself, default "f32 f16 bf16"; add q8_0 to get the converter's q8_0 on small models, as the
# `small` figures in docs/benchmarks.md were made), ANCHOR (LlamaAnchor.dll; built into ANCHOR_BUILD if missing),
# ANCHOR_BUILD (scripts/llamacpp-anchor.sh's default), THREADS (2), LLAMACPP_TOOLS, PYTHON (/usr/bin/python3 with numpy).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
(( $# >= 3 )) || { echo "usage: $0 CHECKPOINT GGUF_DIR TYPE..." >&2; exit 2; }
CHECKPOINT="$1"; GGUF_DIR="$2"; shift 2
SOURCE_TYPE="${SOURCE_TYPE:-bf16}"; DIRECT_TYPES="${DIRECT_TYPES:-f32 f16 bf16}"; THREADS="${THREADS:-2}"
TOOLS="$(cd "${LLAMACPP_TOOLS:-$ROOT/../shared/tools/llamacpp}" 2>/dev/null && pwd || true)"
PYTHON="${PYTHON:-/usr/bin/python3}"
[[ -f "$CHECKPOINT/config.json" ]] || { echo "error: $CHECKPOINT/config.json is missing (not a checkpoint folder)" >&2; exit 2; }
[[ -n "$TOOLS" && -f "$TOOLS/hf_to_gguf.py" && -d "$TOOLS/LlamaAnchor" ]] ||
    { echo "error: llama.cpp tools not found (hf_to_gguf.py, LlamaAnchor/); set LLAMACPP_TOOLS" >&2; exit 2; }
case " f32 f16 bf16 " in *" $SOURCE_TYPE "*) ;; *) echo "error: SOURCE_TYPE must be f32, f16 or bf16, got '$SOURCE_TYPE'" >&2; exit 2 ;; esac
mkdir -p "$GGUF_DIR"
gguf() { echo "$GGUF_DIR/llamacpp-$1.gguf"; }
mem() { echo "memory: $(free -g | awk '/^Mem:/ { print $7 }') GiB available, disk: $(df -h --output=avail "$GGUF_DIR" | tail -1 | tr -d ' ') free"; }

# Written to a temporary name and renamed, so an interrupted run never leaves a truncated file that looks finished.
direct() {
    local t="$1"
    [[ -f "$(gguf "$t")" ]] && return 0
    echo "hf_to_gguf.py --outtype $t -> $(gguf "$t")   [$(mem)]"
    "$PYTHON" "$ROOT/scripts/hf-to-gguf-chunked.py" "$TOOLS" "$CHECKPOINT" "$(gguf "$t").part" --outtype "$t" --quiet
    mv "$(gguf "$t").part" "$(gguf "$t")"
}

for t in "$@"; do
    [[ -f "$(gguf "$t")" ]] && continue
    if [[ " $DIRECT_TYPES " == *" $t "* ]]; then
        direct "$t"
    else
        direct "$SOURCE_TYPE"
        ANCHOR="${ANCHOR:-$(LLAMACPP_TOOLS="$TOOLS" "$ROOT/scripts/llamacpp-anchor.sh")}"  # built if missing
        echo "llama_model_quantize $SOURCE_TYPE -> $t   [$(mem)]"
        dotnet "$ANCHOR" quantize "$(gguf "$SOURCE_TYPE")" "$(gguf "$t").part" "$t" --threads "$THREADS" |
            grep 'llama_model_quantize rc=' || { echo "error: llama.cpp's quantizer failed on $(gguf "$SOURCE_TYPE") -> $t" >&2; exit 1; }
        mv "$(gguf "$t").part" "$(gguf "$t")"
    fi
done
