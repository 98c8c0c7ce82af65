#!/usr/bin/env bash
# The 4-layer real-width slice of GLM-5.2 (issue #13): the `glm52` preset's config (real widths: hidden 6144, dense
# MLP 12288, expert width 2048, 64 heads, MLA ranks 2048 / 512, indexer 32 x 128, vocab 154880) cut to 3 dense + 1 MoE
# layer with 32 routed experts instead of 256 (so it fits in memory) and top-8 (so a token reads what a real MoE layer
# reads: ~5.3 GB per token at bf16 over the 4 layers, embeddings and lm_head). Written by `glm-convert synth --config`,
# once per dtype, plus its GGUFs for llama.cpp (scripts/bench-vs-llamacpp.sh MODEL=slice uses both).
#
#   dotnet build Glm.Onnx.sln -c Release && scripts/make-glm52-slice.sh
#
# Knobs (environment): OUT (out/glm52-slice), DTYPES ("bf16 fp8": checkpoint dtypes, one folder each), EXPERTS (32),
# LAYERS (4), SEED (1), GGUF_TYPES ("bf16 q8_0 q4_0 q4_k_m"; empty = none: the bf16 GGUF is written by hf_to_gguf.py
# from the bf16 checkpoint, every quantized type by llama.cpp's own quantizer from that GGUF, streaming: see
# scripts/llamacpp-gguf.sh), THREADS (2, the quantizer's), LLAMACPP_TOOLS (the shared fixtures' tools/llamacpp next to
# the repository), PYTHON (/usr/bin/python3 with numpy).
# Disk: bf16 ~9.1 GB, fp8 ~6.4 GB, GGUF bf16 ~9.1 GB, q8_0 ~4.8 GB, q4_0 ~2.6 GB, q4_k_m ~2.8 GB; the preset's config is
# taken from a 1-layer synth (~4 GB, deleted at once). Everything present is reused.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CONVERT="$ROOT/converter/glm-convert/bin/Release/net10.0/linux-x64/glm-convert.dll"
OUT="${OUT:-$ROOT/out/glm52-slice}"
DTYPES="${DTYPES:-bf16 fp8}"; EXPERTS="${EXPERTS:-32}"; LAYERS="${LAYERS:-4}"; SEED="${SEED:-1}"
GGUF_TYPES="${GGUF_TYPES-bf16 q8_0 q4_0 q4_k_m}"
[[ -f "$CONVERT" ]] || { echo "error: $CONVERT is missing; run 'dotnet build Glm.Onnx.sln -c Release' first" >&2; exit 2; }
mkdir -p "$OUT"
echo "disk before: $(df -h --output=avail "$OUT" | tail -1) free"

# 1. The preset's config: synth writes config.json last, after the weights, so a 1-layer checkpoint is written and
# everything but its config deleted.
CONFIG="$OUT/slice-config.json"
if [[ ! -f "$CONFIG" ]]; then
    tmp="$OUT/preset-1-layer"
    dotnet "$CONVERT" synth "$tmp" --preset glm52 --layers 1 --dtype bf16 --overwrite >/dev/null
    # Layer count, dense layers and experts changed; the per-layer lists are dropped so the loader derives them
    # (mlp_layer_types from first_k_dense_replace, indexer_types from the top-k frequency / offset).
    python3 - "$tmp/config.json" "$CONFIG" "$LAYERS" "$EXPERTS" <<'PY'
import json, sys
src, dst, layers, experts = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
c = json.load(open(src))
c["num_hidden_layers"] = layers
c["first_k_dense_replace"] = min(3, layers - 1)
c["n_routed_experts"] = experts
for key in ("mlp_layer_types", "indexer_types", "index_topk_pattern"):
    c.pop(key, None)
if c.get("num_experts_per_tok", 0) > experts:
    sys.exit(f"error: top-{c['num_experts_per_tok']} needs at least that many experts, EXPERTS={experts}")
json.dump(c, open(dst, "w"), indent=2)
PY
    rm -rf "$tmp"
fi

# 2. One checkpoint per dtype (same seed: the same random values before fp8 quantization).
for dtype in $DTYPES; do
    if [[ -f "$OUT/$dtype/config.json" ]]; then
        echo "reusing $OUT/$dtype"
    else
        dotnet "$CONVERT" synth "$OUT/$dtype" --config "$CONFIG" --dtype "$dtype" --seed "$SEED" --overwrite
    fi
done
dotnet "$CONVERT" inspect "$OUT/$(echo "$DTYPES" | awk '{print $1}')" | head -20

# 3. GGUFs for llama.cpp, from the bf16 checkpoint (names as scripts/bench-vs-llamacpp.sh expects them).
if [[ -n "${GGUF_TYPES// }" ]]; then
    [[ -f "$OUT/bf16/config.json" ]] || { echo "error: GGUF_TYPES needs the bf16 checkpoint (DTYPES with bf16)" >&2; exit 2; }
    SOURCE_TYPE=bf16 "$ROOT/scripts/llamacpp-gguf.sh" "$OUT/bf16" "$OUT" $GGUF_TYPES
fi
du -sh "$OUT"/* 2>/dev/null
echo "disk after: $(df -h --output=avail "$OUT" | tail -1) free"
