#!/usr/bin/python3
"""A Q4_0 GGUF of a GLM-5.x checkpoint for llama.cpp (issue #13 quality check): the shared tools' hf_to_gguf.py with
one more output type, because llama.cpp's own quantizer (`LlamaAnchor quantize ... q4_0`) refuses the fixtures: their
attn_k_b rows are 16 columns and Q4_0 has no fallback type for rows that are not a multiple of its 32-column block.

usage: gguf-q4_0.py MODEL_DIR OUT.gguf [--tools DIR]   (DIR: the llama.cpp tools folder, default the shared fixtures' tools/llamacpp beside the repository)

Tensor choice as hf_to_gguf.py's q8_0 (rows that are not a multiple of 32 fall back to F16; norms, router, 1-D stay
F32), except that token_embd stays F32 so the embedding is a full-precision lookup as in `glm-convert --precision
int4`. Blocks are ggml's reference Q4_0 (quantize_row_q4_0_ref): per 32 values d = v / -8 with v the value of largest
magnitude (sign kept), q = min(15, trunc(x / d + 8.5)), f16 d then 16 bytes, value j in the low nibble of byte j and
value j + 16 in its high nibble. llama.cpp itself then runs the model (its Q4_0 x Q8_0 dot products).
"""
import argparse
import os
import sys

import numpy as np

Q4_0 = 2          # ggml_type GGML_TYPE_Q4_0
FTYPE_Q4_0 = 2    # llama_ftype LLAMA_FTYPE_MOSTLY_Q4_0


def quantize_q4_0(x):
    x = np.ascontiguousarray(x, dtype=np.float32)
    shape = x.shape
    blocks = x.reshape(-1, 32)
    pick = np.abs(blocks).argmax(axis=1)                       # first index of the largest |x|, as ggml's loop keeps
    d = blocks[np.arange(len(blocks)), pick][:, None] / np.float32(-8)
    with np.errstate(divide="ignore"):
        inv = np.where(d == 0, np.float32(0), np.float32(1) / d).astype(np.float32)
    q = np.minimum(np.float32(15), np.trunc(blocks * inv + np.float32(8.5))).astype(np.uint8)
    packed = q[:, :16] | (q[:, 16:] << 4)
    out = np.concatenate([d.astype(np.float16).view(np.uint8), packed], axis=1)
    return out.reshape(*shape[:-1], shape[-1] // 32 * 18)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir")
    ap.add_argument("out")
    ap.add_argument("--tools", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "tools", "llamacpp"))
    args = ap.parse_args()
    if not os.path.isfile(os.path.join(args.tools, "hf_to_gguf.py")):
        sys.exit(f"error: {args.tools} has no hf_to_gguf.py (pass --tools)")
    sys.path.insert(0, os.path.abspath(args.tools))
    import gguf_min as G
    import hf_to_gguf as H

    G.TYPE_NAME[Q4_0] = "Q4_0"
    G.TYPE_SIZE[Q4_0] = (32, 18)
    G.FTYPE["q4_0"] = FTYPE_Q4_0
    encode, pick_type = G.encode, H.pick_type
    G.encode = lambda x, qtype: quantize_q4_0(x) if qtype == Q4_0 else encode(x, qtype)

    def pick(new_name, ndim, outtype, row_len):
        t = pick_type(new_name, ndim, "q8_0" if outtype == "q4_0" else outtype, row_len)
        if outtype != "q4_0" or t != G.Q8_0:
            return t
        return G.F32 if new_name == "token_embd.weight" else Q4_0

    H.pick_type = pick
    dt = H.convert(args.model_dir, args.out, "q4_0", no_mtp=True, log=lambda *a: None)
    print(f"wrote {args.out} ({os.path.getsize(args.out) / 2**20:.1f} MiB) in {dt:.1f} s")


if __name__ == "__main__":
    main()
