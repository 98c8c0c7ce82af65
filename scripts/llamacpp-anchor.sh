#!/usr/bin/env bash
# Builds the llama.cpp tools' LlamaAnchor console (LLamaSharp.Backend.Cpu: llama.cpp's benchmark, logits and
# quantizer entry points) into ANCHOR_BUILD unless it is there already; prints the path of LlamaAnchor.dll.
# Used by scripts/bench-vs-llamacpp.sh (before its first llama.cpp run) and scripts/llamacpp-gguf.sh (before quantizing).
#   ANCHOR_BUILD (out/bench-vs-llamacpp/llamacpp-build), LLAMACPP_TOOLS (the shared fixtures' tools/llamacpp)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$(cd "${LLAMACPP_TOOLS:-$ROOT/../shared/tools/llamacpp}" 2>/dev/null && pwd || true)"
ANCHOR_BUILD="${ANCHOR_BUILD:-$ROOT/out/bench-vs-llamacpp/llamacpp-build}"
ANCHOR="$ANCHOR_BUILD/bin/LlamaAnchor/release/LlamaAnchor.dll"
[[ -n "$TOOLS" && -d "$TOOLS/LlamaAnchor" ]] ||
    { echo "error: llama.cpp tools not found (LlamaAnchor/); set LLAMACPP_TOOLS" >&2; exit 2; }
if [[ ! -f "$ANCHOR" ]]; then
    echo "building LlamaAnchor into $ANCHOR_BUILD" >&2
    dotnet build "$TOOLS/LlamaAnchor" -c Release -v q --nologo --artifacts-path "$ANCHOR_BUILD" >/dev/null
fi
echo "$ANCHOR"
