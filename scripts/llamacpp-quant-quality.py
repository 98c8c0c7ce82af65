#!/usr/bin/env python3
"""llama.cpp's own quantization quality on the same models (issue #13): KL(p_f32 || p_x) and top-1 agreement.

usage:
  llamacpp-quant-quality.py ids REFERENCE.safetensors OUT_DIR          write CASE.ids (the fixture's prompts) per case
  llamacpp-quant-quality.py random-ids VOCAB COUNT LENGTH SEED OUT_DIR write prompt0.ids ... (uniform random ids)
  llamacpp-quant-quality.py compare LABEL REF_DIR CAND_DIR CASE [CASE ...]
      REF_DIR/CASE.prefill.npy and CAND_DIR/CASE.prefill.npy are what `LlamaAnchor logits` wrote ([S, V] each).
      Prints one line: positions, KL mean / median / p99 (nats), top-1 %, RMS of the logit difference, and how flat
      the reference distributions are (mean top-1 probability, median top-1 minus top-2 logit gap), so a reader can
      tell a quantization defect (large logit error) from a sensitive model (small gaps).

The statistics are llama.cpp's `llama-perplexity --kl-divergence` ones: softmax in float64 per position, KL of the
reference's distribution to the candidate's, nearest-rank percentiles, top-1 = same argmax. numpy only (Debian:
apt-get install python3-numpy; run with /usr/bin/python3).
"""
import json
import os
import struct
import sys

import numpy as np


def read_int_tensors(path):
    """The integer tensors of a safetensors file (the fixtures' CASE.input_ids)."""
    kinds = {"I64": np.int64, "I32": np.int32}
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] not in kinds:
            continue
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(data[begin:end], dtype=kinds[info["dtype"]]).reshape(info["shape"])
    return out


def write_ids(path, ids):
    with open(path, "w") as f:
        f.write(" ".join(str(int(i)) for i in ids) + "\n")


def cmd_ids(reference, out_dir):
    tensors = read_int_tensors(reference)
    cases = sorted(k[: -len(".input_ids")] for k in tensors if k.endswith(".input_ids"))
    if not cases:
        sys.exit(f"error: {reference} has no CASE.input_ids tensor")
    os.makedirs(out_dir, exist_ok=True)
    for case in cases:
        write_ids(os.path.join(out_dir, case + ".ids"), tensors[case + ".input_ids"].ravel())
    print(" ".join(cases))


def cmd_random_ids(vocab, count, length, seed, out_dir):
    rng = np.random.default_rng(seed)
    os.makedirs(out_dir, exist_ok=True)
    cases = []
    for i in range(count):
        write_ids(os.path.join(out_dir, f"prompt{i}.ids"), rng.integers(0, vocab, size=length))
        cases.append(f"prompt{i}")
    print(" ".join(cases))


def log_softmax(x):
    x = x.astype(np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def load_logits(path):
    if not os.path.exists(path):
        sys.exit(f"error: {path} is missing (run LlamaAnchor logits first)")
    a = np.load(path)
    if a.ndim != 2 or not np.all(np.isfinite(a)):
        sys.exit(f"error: {path} is not a finite [S, V] logits matrix (shape {a.shape})")
    return a


def cmd_compare(label, ref_dir, cand_dir, cases):
    kl, agree, diff2, top1p, gaps = [], 0, [], [], []
    for case in cases:
        ref = load_logits(os.path.join(ref_dir, case + ".prefill.npy"))
        cand = load_logits(os.path.join(cand_dir, case + ".prefill.npy"))
        if ref.shape != cand.shape:
            sys.exit(f"error: {case}: reference logits {ref.shape}, candidate {cand.shape}")
        lp, lq = log_softmax(ref), log_softmax(cand)
        kl.extend(np.maximum(0.0, (np.exp(lp) * (lp - lq)).sum(axis=-1)).tolist())
        agree += int((ref.argmax(axis=-1) == cand.argmax(axis=-1)).sum())
        # logits are defined up to a constant per row: compare them centred
        d = (ref - ref.mean(axis=-1, keepdims=True)) - (cand - cand.mean(axis=-1, keepdims=True))
        diff2.extend((d.astype(np.float64) ** 2).mean(axis=-1).tolist())
        top1p.extend(np.exp(lp.max(axis=-1)).tolist())
        top2 = np.sort(ref, axis=-1)[:, -2:]
        gaps.extend((top2[:, 1] - top2[:, 0]).tolist())
    s = np.sort(np.array(kl))
    rank = lambda q: s[min(max(int(np.ceil(q * len(s))) - 1, 0), len(s) - 1)]
    print(f"{label}: positions {len(s)}, KL mean {s.mean():.3g} median {rank(0.5):.3g} p99 {rank(0.99):.3g}, "
          f"top-1 {100.0 * agree / len(s):.1f} %, logit RMS diff {np.sqrt(np.mean(diff2)):.3g}, "
          f"reference: mean p(top-1) {np.mean(top1p):.3f}, median top-1 - top-2 logit gap {np.median(gaps):.3g}")


def main(argv):
    try:
        if len(argv) == 4 and argv[1] == "ids":
            cmd_ids(argv[2], argv[3])
        elif len(argv) == 7 and argv[1] == "random-ids":
            cmd_random_ids(int(argv[2]), int(argv[3]), int(argv[4]), int(argv[5]), argv[6])
        elif len(argv) >= 6 and argv[1] == "compare":
            cmd_compare(argv[2], argv[3], argv[4], argv[5:])
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
