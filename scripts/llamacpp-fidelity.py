#!/usr/bin/env python3
"""llama.cpp's logits against a fixture's transformers reference (issue #13: a fair competitor on the same model).

usage: llamacpp-fidelity.py REFERENCE.safetensors CASE=PREFIX [CASE=PREFIX ...]
  CASE   a case in the reference (short, long): CASE.input_ids, CASE.prefill_logits, CASE.greedy_ids
  PREFIX what `LlamaAnchor logits ... PREFIX` wrote: PREFIX.prefill.npy [S, V], PREFIX.json (greedy_ids)
Prints max |llama.cpp - reference| over the prompt's logits and whether the greedy tokens are identical; exits 1 when
a case misses the bound (prefill <= 1.1e-4, greedy identical). numpy only (Debian: apt-get install python3-numpy).
"""
import json
import struct
import sys

import numpy as np

PREFILL_BOUND = 1.1e-4
DTYPES = {"F32": np.float32, "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in DTYPES:
            continue
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(data[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
    return out


def main(argv):
    if len(argv) < 3 or any("=" not in a for a in argv[2:]):
        print(__doc__, file=sys.stderr)
        return 2
    ref = read_safetensors(argv[1])
    ok = True
    for arg in argv[2:]:
        case, prefix = arg.split("=", 1)
        for key in (f"{case}.prefill_logits", f"{case}.greedy_ids"):
            if key not in ref:
                print(f"error: {argv[1]} has no tensor '{key}'", file=sys.stderr)
                return 2
        want = ref[f"{case}.prefill_logits"]
        got = np.load(prefix + ".prefill.npy")
        if got.shape != want.shape:
            print(f"error: {prefix}.prefill.npy has shape {got.shape}, the reference {want.shape}", file=sys.stderr)
            return 2
        diff = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64))))
        want_ids = [int(x) for x in ref[f"{case}.greedy_ids"].ravel()]
        with open(prefix + ".json") as f:
            got_ids = [int(x) for x in json.load(f)["greedy_ids"]]
        n = min(len(want_ids), len(got_ids))
        same = got_ids[:n] == want_ids[:n]
        passed = diff <= PREFILL_BOUND and same
        ok &= passed
        print(f"fidelity {case}: prompt {want.shape[0]} tokens, prefill max|diff| {diff:.3g} (bound {PREFILL_BOUND}), "
              f"greedy {n - want.shape[0]} tokens {'identical' if same else 'DIFFER'}: {'pass' if passed else 'FAIL'}")
        if not same:
            print(f"  reference {want_ids[:n]}\n  llama.cpp {got_ids[:n]}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
