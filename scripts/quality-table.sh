#!/usr/bin/env bash
# KL(p_fp32 || p_x) and top-1 agreement of bf16 / fp8 / int8 / int4 conversions against fp32, on every shared
# fixture (its reference prompts) and on the `small` preset (seed 1, random prompts): the table in docs/benchmarks.md.
# usage: scripts/quality-table.sh [WORK_DIR]   (after `dotnet build Glm.Onnx.sln -c Release`)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
glm="${GLM_CONVERT:-dotnet $root/converter/glm-convert/bin/Release/net10.0/linux-x64/glm-convert.dll}"   # GLM_CONVERT: another build, for an A/B
fixtures="$root/../shared/fixtures/glm"
extra="${QUALITY_EXTRA:-}"   # e.g. "--group-size 128" or "--accuracy-level 4"
mkdir -p "$work"
row() { # name source prompts-args
  local name="$1" src="$2"; shift 2
  $glm convert "$src" "$work/$name-fp32" --precision fp32 --force > /dev/null 2>&1
  for p in bf16 fp8 int8 int4; do
    $glm convert "$src" "$work/$name-$p" --precision "$p" $extra --force > /dev/null 2>&1
    printf '%s %s ' "$name" "$p"
    $glm kl --reference "$work/$name-fp32" --candidate "$work/$name-$p" "$@"
  done
}
for f in glm5-tiny glm52-tiny glm52-grouped glm52-tiny-fp8 glm52-tiny-mtp; do
  row "$f" "$fixtures/$f" --prompts "$fixtures/$f/reference.safetensors"
done
if [ -z "${SKIP_SMALL:-}" ]; then
  [ -d "$work/small-src" ] || $glm synth "$work/small-src" --preset small --seed 1 > /dev/null 2>&1
  row small "$work/small-src" --random-prompts 4 --prompt-length 32 --seed 1
fi
