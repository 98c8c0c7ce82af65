#!/usr/bin/env python3
"""Summarise scripts/bench-vs-llamacpp.sh's results.jsonl: medians over rounds per (engine, precision, prompt), and
ours / llama.cpp per matched precision (fp32~f32, bf16~bf16, int8~q8_0, int4~q4_0 and q4_k_m).

usage: summarize-vs-llamacpp.py results.jsonl [ACTIVE_PARAMETERS]
With ACTIVE_PARAMETERS (weights read per decoded token, `glm-convert inspect --json`: active_per_token) a column
gives the weight bytes streamed per second of decode at the nominal width of each type (f32 4 bytes, bf16 2, q8_0
34/32, q4_0 18/32 per weight): an independent check of the read-bandwidth floor (docs/benchmarks.md). Types without
one width (q4_k_m mixes 4- and 6-bit blocks) get none, and so do our bf16 artifacts, whose dense weights ONNX Runtime
constant-folds to fp32 (they read more than 2 bytes per weight).
Decode ratio = llama.cpp ms/token / ours (so above 1 means ours is faster); prefill ratio = ours tok/s / llama.cpp.
"""
import json
import statistics
import sys

BYTES_PER_WEIGHT = {("ours", "fp32"): 4.0, ("llamacpp", "f32"): 4.0, ("llamacpp", "f16"): 2.0, ("llamacpp", "bf16"): 2.0,
                    ("llamacpp", "q8_0"): 34 / 32, ("llamacpp", "q4_0"): 18 / 32}
MATCHES = {"fp32": ["f32"], "bf16": ["bf16"], "int8": ["q8_0"], "int4": ["q4_0", "q4_k_m"]}


def med(rows, key):
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


def fmt(x, digits=1):
    return "-" if x is None else f"{x:.{digits}f}"


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    active = int(argv[2]) if len(argv) == 3 else None
    rows = [json.loads(line) for line in open(argv[1]) if line.strip()]
    if not rows:
        print(f"error: {argv[1]} has no results", file=sys.stderr)
        return 2
    groups = {}
    for r in rows:
        groups.setdefault((r["engine"], r["precision"], r["prompt"]), []).append(r)
    loads = [float(r[k].split()[0]) for r in rows for k in ("load_before", "load_after")]
    print(f"load average (1 min) over the runs: {min(loads):.2f} - {max(loads):.2f}")
    print("| engine | precision | prompt | prefill tok/s | decode ms/token | decode CPU ms/step | weight GB/s | run wall s | run CPU s | peak RSS MB | rounds |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    summary = {}
    for (engine, precision, prompt), g in sorted(groups.items(), key=lambda kv: (kv[0][2], kv[0][0] != "ours", kv[0][1])):
        s = {k: med(g, k) for k in ("prefill_tok_s", "decode_ms", "decode_cpu_ms", "wall_s", "cpu_s", "peak_rss_mb")}
        summary[(engine, precision, prompt)] = s
        width = BYTES_PER_WEIGHT.get((engine, precision))
        gbps = active * width / (s["decode_ms"] / 1e3) / 1e9 if active and width and s["decode_ms"] else None
        print(f"| {'ours' if engine == 'ours' else 'llama.cpp'} | {precision} | {prompt} | {fmt(s['prefill_tok_s'])} | "
              f"{fmt(s['decode_ms'], 2)} | {fmt(s['decode_cpu_ms'], 2)} | {fmt(gbps)} | {fmt(s['wall_s'])} | {fmt(s['cpu_s'])} | "
              f"{fmt(s['peak_rss_mb'], 0)} | {len(g)} |")
    print()
    print("| ours | llama.cpp | prompt | decode ratio (llama.cpp ms / ours ms) | prefill ratio (ours / llama.cpp tok/s) |")
    print("|---|---|---:|---:|---:|")
    for (engine, precision, prompt), s in summary.items():
        if engine != "ours":
            continue
        for theirs in MATCHES.get(precision, []):
            t = summary.get(("llamacpp", theirs, prompt))
            if t is None:
                continue
            decode = t["decode_ms"] / s["decode_ms"] if s["decode_ms"] and t["decode_ms"] else None
            prefill = s["prefill_tok_s"] / t["prefill_tok_s"] if s["prefill_tok_s"] and t["prefill_tok_s"] else None
            print(f"| {precision} | {theirs} | {prompt} | {fmt(decode, 2)} | {fmt(prefill, 2)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
