#!/usr/bin/env bash
# llama.cpp's q8_0 / q4_0 / bf16 against its own f32 on the same models as scripts/quality-table.sh (issue #13): is
# int8 >= 99 % / int4 >= 90 % top-1 reachable on these random-weight models by an independent engine?
# Every shared fixture (its reference prompts, 46 positions) and the `small` preset (seed 1, 4 random 32-id prompts).
# usage: scripts/llamacpp-quant-quality.sh [WORK_DIR]     (SKIP_SMALL=1 to leave out `small`; LLAMACPP_TOOLS to
# point at the llama.cpp tools folder, default the shared fixtures' tools/llamacpp). Needs Debian's python3-numpy.
# Prints one line per model x format (KL mean / median / p99, top-1 %, logit RMS diff, reference flatness).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
tools="${LLAMACPP_TOOLS:-$root/../shared/tools/llamacpp}"
fixtures="$root/../shared/fixtures/glm"
py=/usr/bin/python3
q="$py $root/scripts/llamacpp-quant-quality.py"
[[ -f "$tools/hf_to_gguf.py" && -d "$tools/LlamaAnchor" ]] || { echo "error: llama.cpp tools not found in '$tools' (set LLAMACPP_TOOLS)" >&2; exit 2; }
$py -c "import numpy" 2>/dev/null || { echo "error: $py has no numpy (apt-get install python3-numpy)" >&2; exit 2; }
mkdir -p "$work"
anchor="$work/llamacpp-build/bin/LlamaAnchor/release/LlamaAnchor.dll"
[[ -f "$anchor" ]] || dotnet build "$tools/LlamaAnchor" -c Release -v q --nologo --artifacts-path "$work/llamacpp-build" > /dev/null
glm="dotnet $root/converter/glm-convert/bin/Release/net10.0/linux-x64/glm-convert.dll"

row() { # name checkpoint-dir cases...
  local name="$1" src="$2"; shift 2
  local d="$work/$name"; mkdir -p "$d"
  [[ -f "$d/f32.gguf" ]] || $py "$tools/hf_to_gguf.py" "$src" "$d/f32.gguf" --outtype f32 --no-mtp --quiet > /dev/null
  [[ -f "$d/bf16.gguf" ]] || $py "$tools/hf_to_gguf.py" "$src" "$d/bf16.gguf" --outtype bf16 --no-mtp --quiet > /dev/null
  [[ -f "$d/q8_0.gguf" ]] || $py "$tools/hf_to_gguf.py" "$src" "$d/q8_0.gguf" --outtype q8_0 --no-mtp --quiet > /dev/null
  # llama.cpp's quantizer refuses Q4_0 for these models (16-column attn_k_b rows): see scripts/gguf-q4_0.py
  [[ -f "$d/q4_0.gguf" ]] || $py "$root/scripts/gguf-q4_0.py" "$src" "$d/q4_0.gguf" --tools "$tools" > /dev/null
  for t in f32 bf16 q8_0 q4_0; do
    mkdir -p "$d/$t"
    for c in "$@"; do
      # f32 KV cache and no flash attention: llama.cpp's CPU flash attention rounds to f16 (tools README)
      dotnet "$anchor" logits "$d/$t.gguf" "$d/ids/$c.ids" "$d/$t/$c" --gen 1 --kv f32 --fa off > /dev/null
    done
  done
  for t in bf16 q8_0 q4_0; do $q compare "$name $t" "$d/f32" "$d/$t" "$@"; done
}

for f in glm5-tiny glm52-tiny glm52-grouped glm52-tiny-fp8 glm52-tiny-mtp; do
  # shellcheck disable=SC2046
  row "$f" "$fixtures/$f" $($q ids "$fixtures/$f/reference.safetensors" "$work/$f/ids")
done
if [[ -z "${SKIP_SMALL:-}" ]]; then
  [[ -d "$work/small-src" ]] || $glm synth "$work/small-src" --preset small --seed 1 > /dev/null 2>&1
  vocab=$($py -c "import json,sys; print(json.load(open(sys.argv[1]))['vocab_size'])" "$work/small-src/config.json")
  # shellcheck disable=SC2046
  row small "$work/small-src" $($q random-ids "$vocab" 4 32 1 "$work/small/ids")
fi
