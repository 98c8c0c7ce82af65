#!/usr/bin/env python3
"""Weight memory of the full GLM-5.2 main model at each glm-convert precision, from the real tensor layout.

usage: scripts/glm52-weight-memory.py LAYOUT_JSON [--group-size 32]

LAYOUT_JSON lists every tensor name and shape of GLM-5.2 (the layout fixture). Bytes per weight follow
docs/artifacts.md: fp32 4; bf16 2; int8 1 and int4 0.5 plus the group scales (MoeExperts: float16 per group;
MatMulNBits: float32 per group, K padded to whole groups); the embedding stays a bf16 lookup below fp32; W_UK / W_UV
(from kv_b_proj) follow the attention width, one step wider under int8 / int4 (bf16 / int8 with float16 group
scales, grouped DenseProjection); the router, norms
and biases stay float32 at every precision. The KV cache is not included.
"""
import json
import math
import sys


def part(name):
    if name == "model.embed_tokens.weight":
        return "embedding"
    if name == "lm_head.weight":
        return "lm_head"
    if ".mlp.experts." in name:
        return "experts"
    if name.endswith(".mlp.gate.weight") or "e_score_correction_bias" in name:
        return "float32"
    if "kv_b_proj" in name:
        return "kv_b"
    if ".self_attn." in name and name.endswith("_proj.weight"):
        return "attention"
    if ".indexer." in name and name.endswith(".weight") and ("wq_b" in name or "wk" in name or "weights_proj" in name):
        return "attention"
    if ".mlp." in name and name.endswith("_proj.weight"):
        return "dense"
    return "float32"


def matrix_bytes(shape, precision, group, layout):
    *lead, n, k = shape
    count = math.prod(lead) if lead else 1
    if precision == "fp32":
        return count * n * k * 4
    if precision == "bf16":
        return count * n * k * 2
    bits = 8 if precision == "int8" else 4
    groups = math.ceil(k / group)
    if layout == "moe":
        packed = k if bits == 8 else math.ceil(k / 2)
        return count * n * (packed + groups * 2)
    return count * n * (groups * group * bits // 8 + groups * 4)


def main():
    layout = json.load(open(sys.argv[1]))
    group = int(sys.argv[sys.argv.index("--group-size") + 1]) if "--group-size" in sys.argv else 32
    shapes = layout["shapes"]
    print(f"| precision | embedding | attention | dense + shared | routed experts | lm_head | other | total GB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for precision in ["fp32", "bf16", "int8", "int4"]:
        sums = {}
        for name, shape in shapes.items():
            p = part(name)
            if p == "float32" or len(shape) < 2:
                b = math.prod(shape) * 4
                p = "other"
            elif p == "kv_b":
                # W_UK^T / W_UV: kv_b_proj's elements at the attention width, int in the contract layout (float16
                # scales; counted per kv_lora_rank columns, W_UK^T's groups run along qk_nope: within a few %).
                absorbed = {"int8": "bf16", "int4": "int8"}.get(precision, precision)  # one step wider
                b = matrix_bytes(shape, absorbed, group, "moe")
                p = "attention"
            elif p == "embedding":
                b = math.prod(shape) * (4 if precision == "fp32" else 2)
            else:
                b = matrix_bytes(shape, precision, group, "moe" if p == "experts" else "nbits")
            sums[p] = sums.get(p, 0) + b
        total = sum(sums.values())
        cells = " | ".join(f"{sums.get(p, 0) / 1e9:.1f}" for p in ["embedding", "attention", "dense", "experts", "lm_head", "other"])
        print(f"| {precision} | {cells} | {total / 1e9:.0f} |")


if __name__ == "__main__":
    main()
