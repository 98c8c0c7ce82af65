#!/usr/bin/env python3
"""Runs the shared llama.cpp tools' hf_to_gguf.py with its per-tensor encoding done in row chunks.

usage: hf-to-gguf-chunked.py TOOLS_DIR MODEL_DIR OUT.gguf [hf_to_gguf.py options...]

The converter encodes each whole tensor at once, and its float32 -> bf16 rounding widens to uint64: for the real-width
slice's 154880 x 6144 embedding (3.8 GB as float32) that is ~15-20 GB of temporaries on top of the float32 copy, which
a 24 GiB machine shared with other jobs cannot hold (it grew past 14 GB before a run here was stopped). Every
encoding it offers (f32, f16, bf16, q8_0 blocks of 32 along the row) treats rows independently, so encoding a few
rows at a time writes the same bytes with bounded extra memory: peak ~ the float32 tensor, its encoded copy and
the writer's byte copy of it (9.5 GB RSS on the slice, mapped checkpoint pages included).
Nothing is copied from the tools: their module is imported and its `encode` is wrapped.
"""
import os
import runpy
import sys

import numpy as np

# 64 MB of float32 per encode call; HF_TO_GGUF_CHUNK_ELEMENTS overrides it (a small value checks the chunked path on a
# small model against the plain converter's output).
CHUNK_ELEMENTS = int(os.environ.get("HF_TO_GGUF_CHUNK_ELEMENTS", 1 << 24))


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    tools = argv[1]
    if not os.path.isfile(os.path.join(tools, "hf_to_gguf.py")):
        print(f"error: {tools}/hf_to_gguf.py not found (the llama.cpp tools folder)", file=sys.stderr)
        return 2
    sys.path.insert(0, tools)
    import gguf_min

    whole = gguf_min.encode

    def chunked(x_f32, qtype):
        x = np.asarray(x_f32)
        if x.ndim < 2 or x.size <= CHUNK_ELEMENTS:
            return whole(x, qtype)
        rows = x.reshape(-1, x.shape[-1])
        step = max(1, CHUNK_ELEMENTS // rows.shape[1])
        first = np.asarray(whole(rows[:step], qtype))
        out = np.empty((rows.shape[0],) + first.shape[1:], dtype=first.dtype)
        out[:step] = first
        for start in range(step, rows.shape[0], step):
            out[start:start + step] = whole(rows[start:start + step], qtype)
        return out.reshape(x.shape[:-1] + first.shape[1:])

    gguf_min.encode = chunked
    sys.argv = [os.path.join(tools, "hf_to_gguf.py")] + argv[2:]
    runpy.run_path(sys.argv[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
