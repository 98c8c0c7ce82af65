#!/usr/bin/env python3
"""Nodes of an ONNX stage graph by op type (every node of a stage runs once per step), without the onnx package.

  /usr/bin/python3 scripts/onnx-node-counts.py ARTIFACTS/stage-00.onnx

Reads the wire format with onnx_initializers' protobuf reader: ModelProto.graph = field 7, GraphProto.node = field 1,
NodeProto.op_type = field 4. Prints the total, then one line per op type, most frequent first.
"""
import collections
import sys

import onnx_initializers


def node_counts(path):
    with open(path, "rb") as f:
        model = f.read()
    graph = next((v for field, _, v in onnx_initializers._fields(model, path) if field == 7), None)
    if graph is None:
        raise onnx_initializers.OnnxError(f"{path}: no graph (ModelProto field 7)")
    counts = collections.Counter()
    for field, _, node in onnx_initializers._fields(graph, path):
        if field == 1:
            counts.update(v.decode() for f, _, v in onnx_initializers._fields(node, path) if f == 4)
    return counts


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: onnx-node-counts.py STAGE.onnx")
    try:
        counts = node_counts(argv[1])
    except (OSError, onnx_initializers.OnnxError) as e:
        sys.exit(f"error: {e}")
    print(f"{sum(counts.values())} nodes")
    for op, n in counts.most_common():
        print(f"{n:6d}  {op}")


if __name__ == "__main__":
    main(sys.argv)
