#!/usr/bin/env python3
"""Bytes of weights one batch-1 decode step reads, from the stored tensor sizes of an artifact folder or a GGUF.

usage: bytes-per-token.py ours ARTIFACT_DIR [--label L]
       bytes-per-token.py gguf MODEL.gguf [--label L]
Prints one JSON line: bytes_per_token, the split by part, artifact_bytes (what is on disk) and top_k / experts.

A decode step reads every weight once except two kinds (docs/benchmarks.md, "Side by side with llama.cpp"):
- the token embedding table is a lookup: one row per token;
- each MoE layer's routed experts: top_k of n_experts (num_experts_per_tok of n_routed_experts; a batch of one token
  picks exactly top_k distinct experts), so that fraction of the stacked expert tensors. Where the shared experts are
  stacked after the routed ones (MoeExperts' shared_experts: a leading axis of n_routed_experts + n_shared_experts),
  those last slices are shared experts, read whole.
Attention (MLA projections, the indexer's, W_UK / W_UV), dense MLPs, shared experts, the router and lm_head are read
whole. Norm vectors and biases count too (tiny). MTP (NextN) layers are left out: a plain decode step does not run them.
Our artifacts: the initializers of the manifest's main stages (glm-model.json "stages"; the MTP stage is apart).
GGUF: every tensor of the file, except blocks at or above block_count - nextn_predict_layers.
"""
import json
import os
import re
import sys

import gguf_tensors
import onnx_initializers

PARTS = ("embedding", "attention", "dense_mlp", "shared_experts", "router", "routed_experts", "lm_head", "other")


def ours_part(name):
    if "embed_tokens" in name:
        return "embedding"
    if ".moe.experts." in name or re.search(r"\.mlp\.experts\.\d+\.", name):
        return "routed_experts"
    if "shared_experts" in name or ".moe.shared." in name:
        return "shared_experts"
    if re.search(r"\.mlp\.gate\.(weight|e_score_correction_bias)", name) or ".moe.router" in name:
        return "router"
    if re.search(r"\.mlp\.(gate|up|down)_proj\.", name) or re.search(r"\.mlp\.gate_up($|\.|_)", name):
        return "dense_mlp"
    if name.startswith("lm_head") or ".lm_head" in name:
        return "lm_head"
    if "self_attn" in name or ".attn." in name:
        return "attention"
    return "other"


def gguf_part(name):
    if name.startswith("token_embd."):
        return "embedding"
    if "_exps." in name:
        return "routed_experts"
    if "_shexp." in name:
        return "shared_experts"
    if ".ffn_gate_inp." in name or ".exp_probs_b." in name:
        return "router"
    if re.search(r"\.ffn_(gate|up|down)\.", name):
        return "dense_mlp"
    if name.startswith("output."):
        return "lm_head"
    if ".attn_" in name or ".indexer." in name:
        return "attention"
    return "other"


def summarize(tensors, part_of, embedding_rows, top_k, experts, artifact_bytes, label):
    stored = dict.fromkeys(PARTS, 0)
    read = dict.fromkeys(PARTS, 0.0)
    for t in tensors:
        part = part_of(t["name"])
        stored[part] += t["bytes"]
        if part == "embedding":
            read[part] += t["bytes"] / embedding_rows
        elif part == "routed_experts":
            read[part] += t["bytes"] * top_k / experts
        else:
            read[part] += t["bytes"]
    return {"label": label, "bytes_per_token": round(sum(read.values())), "top_k": top_k, "experts": experts,
            "artifact_bytes": artifact_bytes, "weight_bytes": sum(stored.values()),
            "read_by_part": {p: round(v) for p, v in read.items() if stored[p]},
            "stored_by_part": {p: v for p, v in stored.items() if v}}


def need(mapping, key, where):
    if key not in mapping:
        raise ValueError(f"{where}: missing '{key}'")
    return mapping[key]


def split_joined_shared(tensors, experts, shared):
    """Expert stacks holding the shared experts after the routed ones, each as two entries: the routed slices, and
    the shared slices under a .moe.shared. name."""
    out = []
    for t in tensors:
        if shared and ours_part(t["name"]) == "routed_experts" and t["shape"][:1] == [experts + shared]:
            routed = t["bytes"] * experts // (experts + shared)
            out.append(dict(t, bytes=routed))
            out.append(dict(t, name=t["name"].replace(".moe.experts.", ".moe.shared."), bytes=t["bytes"] - routed))
        else:
            out.append(t)
    return out


def ours(folder, label):
    manifest_path = os.path.join(folder, "glm-model.json")
    if not os.path.isfile(manifest_path):
        raise ValueError(f"{folder}: no glm-model.json (not an artifact folder of glm-convert convert)")
    with open(manifest_path) as f:
        manifest = json.load(f)
    config = need(manifest, "source_config", manifest_path)
    dims = need(manifest, "dimensions", manifest_path)
    tensors = []
    for stage in need(manifest, "stages", manifest_path):
        tensors += onnx_initializers.read(os.path.join(folder, need(stage, "file", manifest_path)))
    experts = int(config.get("n_routed_experts") or 1)
    top_k = int(config.get("num_experts_per_tok") or 1)
    tensors = split_joined_shared(tensors, experts, int(config.get("n_shared_experts") or 0))
    artifact_bytes = sum(int(f["bytes"]) for f in manifest.get("files", []))
    return summarize(tensors, ours_part, int(need(dims, "vocab_size", manifest_path + " dimensions")), top_k, experts,
                     artifact_bytes, label)


def gguf(path, label):
    meta, tensors = gguf_tensors.read(path)
    arch = need(meta, "general.architecture", path)
    blocks = int(need(meta, f"{arch}.block_count", path))
    nextn = int(meta.get(f"{arch}.nextn_predict_layers", 0))
    main = []
    for t in tensors:
        m = re.match(r"blk\.(\d+)\.", t["name"])
        if m is None or int(m.group(1)) < blocks - nextn:
            main.append(t)
    embd = [t for t in tensors if t["name"] == "token_embd.weight"]
    if not embd:
        raise ValueError(f"{path}: no token_embd.weight tensor")
    rows = embd[0]["shape"][-1]  # GGUF lists the row length first: [hidden, vocab]
    return summarize(main, gguf_part, rows, int(meta.get(f"{arch}.expert_used_count", 1)),
                     int(meta.get(f"{arch}.expert_count", 1)), os.path.getsize(path), label)


def main(argv):
    args = argv[1:]
    label = None
    if "--label" in args:
        i = args.index("--label")
        if i + 1 >= len(args):
            print("error: --label needs a value", file=sys.stderr)
            return 2
        label = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2 or args[0] not in ("ours", "gguf"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        result = ours(args[1], label) if args[0] == "ours" else gguf(args[1], label)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
