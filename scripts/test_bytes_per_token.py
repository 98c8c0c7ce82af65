#!/usr/bin/env python3
"""Checks scripts/bytes-per-token.py on hand-built files whose expected byte counts are worked out here by hand.

usage: /usr/bin/python3 scripts/test_bytes_per_token.py        (unittest; no model files needed)
"""
import importlib.util
import json
import os
import struct
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
_spec = importlib.util.spec_from_file_location("bytes_per_token", os.path.join(HERE, "bytes-per-token.py"))
bpt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bpt)


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def write_gguf(path, kv, tensors):
    """kv: {key: (type id, value)} with u32 (4) / string (8) values; tensors: (name, ne list, ggml type, nbytes)."""
    out = struct.pack("<4sIQQ", b"GGUF", 3, len(tensors), len(kv))
    for k, (t, v) in kv.items():
        out += gguf_string(k) + struct.pack("<I", t) + (struct.pack("<I", v) if t == 4 else gguf_string(v))
    offset = 0
    for name, ne, gtype, nbytes in tensors:
        out += gguf_string(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        out += struct.pack("<IQ", gtype, offset)
        offset += -(-nbytes // 32) * 32
    out += b"\0" * (-len(out) % 32)
    out += b"\0" * offset
    with open(path, "wb") as f:
        f.write(out)


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(num, payload):
    if isinstance(payload, int):
        return varint(num << 3) + varint(payload)
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def initializer(name, dims, dtype, length=None, raw=None):
    t = b"".join(field(1, d) for d in dims) + field(2, dtype) + field(8, name.encode())
    if raw is not None:
        t += field(9, raw)
    else:
        for k, v in (("location", "stage-00.00.onnx.data"), ("offset", "0"), ("length", str(length))):
            t += field(13, field(1, k.encode()) + field(2, v.encode()))
        t += field(14, 1)
    return field(5, t)


class GgufTest(unittest.TestCase):
    def test_reads_every_tensor_once_but_one_embedding_row_and_top_k_of_the_experts(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.gguf")
            write_gguf(path, {"general.architecture": (8, "glm-dsa"), "glm-dsa.block_count": (4, 3),
                              "glm-dsa.nextn_predict_layers": (4, 1), "glm-dsa.expert_count": (4, 4),
                              "glm-dsa.expert_used_count": (4, 2)}, [
                ("token_embd.weight", [64, 10], 0, 64 * 10 * 4),               # f32, 10 rows of 256 bytes
                ("blk.0.attn_q_a.weight", [64, 32], 8, 64 * 32 // 32 * 34),    # q8_0: 2176 bytes
                ("blk.1.ffn_gate_exps.weight", [64, 32, 4], 2, 64 * 32 * 4 // 32 * 18),  # q4_0: 4608 bytes
                ("blk.1.ffn_down_shexp.weight", [16, 64], 1, 16 * 64 * 2),     # f16: 2048 bytes
                ("blk.2.attn_q_a.weight", [64, 32], 8, 2176),                  # the MTP block: not read
                ("output.weight", [64, 10], 30, 64 * 10 * 2),                  # bf16: 1280 bytes
            ])
            r = bpt.gguf(path, "t")
        self.assertEqual(r["read_by_part"], {"embedding": 256, "attention": 2176, "routed_experts": 2304,
                                             "shared_experts": 2048, "lm_head": 1280})
        self.assertEqual(r["bytes_per_token"], 256 + 2176 + 2304 + 2048 + 1280)
        self.assertEqual((r["top_k"], r["experts"]), (2, 4))

    def test_rejects_a_file_that_is_not_gguf(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "x.gguf")
            with open(path, "wb") as f:
                f.write(b"NOPE" + b"\0" * 64)
            with self.assertRaisesRegex(ValueError, "not a GGUF file"):
                bpt.gguf(path, "t")


class OursTest(unittest.TestCase):
    def test_reads_the_main_stage_initializers_with_the_same_rules(self):
        with tempfile.TemporaryDirectory() as d:
            graph = (initializer("model.embed_tokens.weight", [100, 8], 16, length=1600)     # bf16, 16 bytes a row
                     + initializer("model.layers.0.self_attn.q_a_proj.weight", [8, 8], 1, length=256)
                     + initializer("layers.1.moe.experts.gate", [8, 4, 8], 3, length=256)   # int8, 8 experts
                     + initializer("layers.1.moe.experts.gate.group_scales", [8, 4, 1], 10, length=64)
                     + initializer("model.layers.1.mlp.gate.weight", [8, 8], 1, length=256)
                     + initializer("model.layers.0.mlp.up_proj.weight", [8, 8], 1, length=256)
                     + initializer("lm_head.weight", [100, 8], 1, length=3200)
                     + initializer("model.norm.weight", [8], 1, raw=b"\0" * 32))
            with open(os.path.join(d, "stage-00.onnx"), "wb") as f:
                f.write(field(1, 8) + field(7, graph))
            manifest = {"source_config": {"n_routed_experts": 8, "num_experts_per_tok": 2},
                        "dimensions": {"vocab_size": 100}, "stages": [{"file": "stage-00.onnx"}],
                        "files": [{"path": "stage-00.onnx", "bytes": 10}, {"path": "stage-00.00.onnx.data", "bytes": 6000}]}
            with open(os.path.join(d, "glm-model.json"), "w") as f:
                json.dump(manifest, f)
            r = bpt.ours(d, "t")
        self.assertEqual(r["read_by_part"], {"embedding": 16, "attention": 256, "routed_experts": 80, "router": 256,
                                             "dense_mlp": 256, "lm_head": 3200, "other": 32})
        self.assertEqual(r["bytes_per_token"], 16 + 256 + 80 + 256 + 256 + 3200 + 32)
        self.assertEqual(r["artifact_bytes"], 6010)

    def test_splits_shared_experts_stacked_after_the_routed_ones(self):
        with tempfile.TemporaryDirectory() as d:
            graph = (initializer("layers.1.moe.experts.gate", [9, 4, 8], 3, length=288)  # int8: 8 routed + 1 shared
                     + initializer("layers.1.moe.experts.gate.group_scales", [9, 4, 1], 10, length=72)
                     + initializer("layers.2.moe.experts.up", [8, 4, 8], 3, length=256))  # routed only
            with open(os.path.join(d, "stage-00.onnx"), "wb") as f:
                f.write(field(1, 8) + field(7, graph))
            manifest = {"source_config": {"n_routed_experts": 8, "n_shared_experts": 1, "num_experts_per_tok": 2},
                        "dimensions": {"vocab_size": 100}, "stages": [{"file": "stage-00.onnx"}], "files": []}
            with open(os.path.join(d, "glm-model.json"), "w") as f:
                json.dump(manifest, f)
            r = bpt.ours(d, "t")
        # Layer 1: 32 + 8 bytes per expert, 2 routed of 8 read and the 1 shared; layer 2: 32 per expert, 2 of 8.
        self.assertEqual(r["read_by_part"], {"routed_experts": 2 * 40 + 2 * 32, "shared_experts": 40})
        self.assertEqual(r["stored_by_part"], {"routed_experts": 8 * 40 + 256, "shared_experts": 40})

    def test_names_the_folder_without_a_manifest(self):
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaisesRegex(ValueError, "no glm-model.json"):
                bpt.ours(d, "t")


if __name__ == "__main__":
    unittest.main()
