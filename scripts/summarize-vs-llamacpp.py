#!/usr/bin/env python3
"""Summarise scripts/bench-vs-llamacpp.sh's results.jsonl: medians over rounds per (engine, precision, prompt), and
ours / llama.cpp per matched precision (fp32~f32, bf16~bf16, int8~q8_0, int4~q4_0 and q4_k_m).

usage: summarize-vs-llamacpp.py results.jsonl [--weights weights.jsonl] [--bandwidth GBPS]
--weights: scripts/bytes-per-token.py's lines (label engine:precision), the weight bytes each engine reads per decoded
token from its own stored tensors, and its artifact size on disk. They give "GB read/token", "weight GB/s" (those
bytes / decode time: what the engine streams) and "RSS / artifact" (peak resident memory over the files' size).
--bandwidth: the read-bandwidth probe's figure (DecodeBench bandwidth). The floor is the fastest weight stream shown
reachable: the larger of the probe and the fastest "weight GB/s" one run in these results reached (a decode that
streamed faster than the probe proves the probe under-reads; both are printed). "floor ms" = bytes per token / floor,
and "of floor" = floor ms / decode ms (1.0 = decoding at memory speed; the issue's target is >= 0.7).
Decode ratio = llama.cpp ms/token / ours (so above 1 means ours is faster); prefill ratio = ours tok/s / llama.cpp.
"""
import argparse
import json
import statistics
import sys

MATCHES = {"fp32": ["f32"], "bf16": ["bf16"], "int8": ["q8_0"], "int4": ["q4_0", "q4_k_m"]}
PARTS = ("attention", "dense_mlp", "shared_experts", "router", "routed_experts", "lm_head", "embedding", "other")


def med(rows, key):
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


def fmt(x, digits=1):
    return "-" if x is None else f"{x:.{digits}f}"


def load_weights(path):
    weights = {}
    for n, line in enumerate(open(path), 1):
        if not line.strip():
            continue
        w = json.loads(line)
        if ":" not in (w.get("label") or ""):
            raise ValueError(f"{path}:{n}: label must be engine:precision, got {w.get('label')!r}")
        weights[tuple(w["label"].split(":", 1))] = w
    return weights


def weight_gbps(weights, engine, precision, decode_ms):
    """Weight bytes per decoded token / decode time: what a run streamed (None without its byte count)."""
    w = weights.get((engine, precision))
    return w["bytes_per_token"] / (decode_ms / 1e3) / 1e9 if w and decode_ms else None


def floor_gbps(rows, weights, probe):
    """The read-bandwidth floor: the larger of the probe and the fastest weight stream one run demonstrated (each
    run's decode time is already its median over repeats, as each probe pattern's is); prints which."""
    streams = [(g, r) for r in rows if (g := weight_gbps(weights, r["engine"], r["precision"], r.get("decode_ms")))]
    fastest = max(streams, default=None, key=lambda x: x[0])
    if probe:
        print(f"read-bandwidth probe: {probe:.1f} GB/s")
    if fastest:
        g, r = fastest
        print(f"fastest weight stream one run demonstrated here: {g:.1f} GB/s ({r['engine']} {r['precision']}, "
              f"prompt {r['prompt']}, round {r.get('round')})")
    floor = max(probe or 0, fastest[0] if fastest else 0) or None
    if floor:
        print(f"read-bandwidth floor (the larger): {floor:.1f} GB/s")
    return floor


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("--weights")
    ap.add_argument("--bandwidth", type=float, help="read-bandwidth floor, GB/s")
    args = ap.parse_args(argv[1:])
    rows = [json.loads(line) for line in open(args.results) if line.strip()]
    if not rows:
        print(f"error: {args.results} has no results", file=sys.stderr)
        return 2
    try:
        weights = load_weights(args.weights) if args.weights else {}
    except (OSError, ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    groups = {}
    for r in rows:
        groups.setdefault((r["engine"], r["precision"], r["prompt"]), []).append(r)
    loads = [float(r[k].split()[0]) for r in rows for k in ("load_before", "load_after")]
    print(f"load average (1 min) over the runs: {min(loads):.2f} - {max(loads):.2f}")
    summary = {}
    for (engine, precision, prompt), g in groups.items():
        summary[(engine, precision, prompt)] = {
            k: med(g, k) for k in ("prefill_tok_s", "decode_ms", "decode_cpu_ms", "wall_s", "cpu_s", "peak_rss_mb")}
    floor = floor_gbps(rows, weights, args.bandwidth)
    print("| engine | precision | prompt | prefill tok/s | decode ms/token | decode CPU ms/step | GB read/token | "
          "weight GB/s | floor ms/token | of floor | artifact GB | peak RSS GB | RSS / artifact | rounds |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    order = sorted(groups.items(), key=lambda kv: (kv[0][2], kv[0][0] != "ours", kv[0][1]))
    for (engine, precision, prompt), g in order:
        s = summary[(engine, precision, prompt)]
        w = weights.get((engine, precision))
        per_token = w["bytes_per_token"] if w else None
        artifact = w["artifact_bytes"] if w else None
        gbps = weight_gbps(weights, engine, precision, s["decode_ms"])
        floor_ms = per_token / (floor * 1e9) * 1e3 if per_token and floor else None
        fraction = floor_ms / s["decode_ms"] if floor_ms and s["decode_ms"] else None
        rss_gb = s["peak_rss_mb"] * 2**20 / 1e9 if s["peak_rss_mb"] else None
        print(f"| {'ours' if engine == 'ours' else 'llama.cpp'} | {precision} | {prompt} | {fmt(s['prefill_tok_s'])} | "
              f"{fmt(s['decode_ms'], 2)} | {fmt(s['decode_cpu_ms'], 2)} | {fmt(per_token and per_token / 1e9, 3)} | "
              f"{fmt(gbps)} | {fmt(floor_ms, 2)} | {fmt(fraction, 2)} | {fmt(artifact and artifact / 1e9, 2)} | "
              f"{fmt(rss_gb, 2)} | {fmt(rss_gb and artifact and rss_gb / (artifact / 1e9), 2)} | {len(g)} |")
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
    if weights:
        print()
        print("Weight MB read per decoded token, by part (routed experts: top_k / n_experts of the stored tensors; "
              "embedding: one row):")
        print("| engine:precision | " + " | ".join(PARTS) + " | total |")
        print("|---|" + "---:|" * (len(PARTS) + 1))
        for (engine, precision), w in sorted(weights.items(), key=lambda kv: (kv[0][0] != "ours", kv[0][1])):
            parts = w.get("read_by_part", {})
            print(f"| {engine}:{precision} | " + " | ".join(fmt(parts.get(p, 0) / 1e6, 1) for p in PARTS) +
                  f" | {fmt(w['bytes_per_token'] / 1e6, 1)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
