#!/usr/bin/env bash
# Which part of the model costs int8's / int4's top-1 (issue #13)? fp32 artifacts with ONE part quantized (attention
# incl. the DSA indexer, dense MLPs + shared experts, routed experts, lm_head), and the whole model at accuracy_level 0
# (float activations) vs 4 (int8 activations), each against the fp32 artifacts with `glm-convert kl`.
# usage: scripts/quality-attribution.sh [WORK_DIR]   (after `dotnet build Glm.Onnx.sln -c Release`; MODELS to choose,
# default "glm52-tiny small"; BITS default "int8 int4")
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
glm="${GLM_CONVERT:-dotnet $root/converter/glm-convert/bin/Release/net10.0/linux-x64/glm-convert.dll}"   # GLM_CONVERT: another build, for an A/B
fixtures="$root/../shared/fixtures/glm"
mkdir -p "$work"
one() { # model src label prompts-args... -- convert-args...
  local name="$1" src="$2" label="$3"; shift 3
  local prompts=() conv=()
  while [[ $# -gt 0 && "$1" != "--" ]]; do prompts+=("$1"); shift; done
  shift; conv=("$@")
  local out="$work/$name-$(echo "$label" | tr ' =' '__')"
  $glm convert "$src" "$out" "${conv[@]}" --force > "$out.log" 2>&1 || { cat "$out.log" >&2; exit 1; }
  printf '%s %s: ' "$name" "$label"
  $glm kl --reference "$work/$name-fp32" --candidate "$out" "${prompts[@]}"
}
model() { # name src prompts-args...
  local name="$1" src="$2"; shift 2
  [[ -d "$work/$name-fp32" ]] || $glm convert "$src" "$work/$name-fp32" --precision fp32 --force > /dev/null 2>&1
  for b in ${BITS:-int8 int4}; do
    for part in attention dense experts lm-head; do
      one "$name" "$src" "only $part=$b" "$@" -- --precision fp32 "--$part" "$b"
    done
    for a in 0 4; do one "$name" "$src" "all $b level=$a" "$@" -- --precision "$b" --accuracy-level "$a"; done
  done
}
for m in ${MODELS:-glm52-tiny small}; do
  if [[ "$m" == small ]]; then
    [[ -d "$work/small-src" ]] || $glm synth "$work/small-src" --preset small --seed 1 > /dev/null 2>&1
    model small "$work/small-src" --random-prompts 4 --prompt-length 32 --seed 1
  else
    model "$m" "$fixtures/$m" --prompts "$fixtures/$m/reference.safetensors"
  fi
done
