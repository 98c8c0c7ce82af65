"""The tensor table of a GGUF file (v2/v3): metadata keys and, per tensor, its name, shape and stored bytes.

Only the header is read (a few MB even for a multi-GB model), so this is cheap on any file size. Stored bytes follow
from ggml's block layout per type (block length in elements, bytes per block); a type not in the table below is
sized by the distance to the next tensor's offset, which includes at most the alignment padding.
"""
import os
import struct

# ggml type id -> (elements per block, bytes per block), as ggml lays the types out on disk.
GGML_BLOCKS = {
    0: (1, 4),       # F32
    1: (1, 2),       # F16
    2: (32, 18),     # Q4_0: fp16 scale + 32 x 4 bit
    3: (32, 20),     # Q4_1
    6: (32, 22),     # Q5_0
    7: (32, 24),     # Q5_1
    8: (32, 34),     # Q8_0: fp16 scale + 32 x 8 bit
    9: (32, 36),     # Q8_1
    10: (256, 84),   # Q2_K
    11: (256, 110),  # Q3_K
    12: (256, 144),  # Q4_K
    13: (256, 176),  # Q5_K
    14: (256, 210),  # Q6_K
    15: (256, 292),  # Q8_K
    24: (1, 1),      # I8
    25: (1, 2),      # I16
    26: (1, 4),      # I32
    27: (1, 8),      # I64
    28: (1, 8),      # F64
    30: (1, 2),      # BF16
}
GGML_NAMES = {0: "f32", 1: "f16", 2: "q4_0", 3: "q4_1", 6: "q5_0", 7: "q5_1", 8: "q8_0", 9: "q8_1", 10: "q2_k",
              11: "q3_k", 12: "q4_k", 13: "q5_k", 14: "q6_k", 15: "q8_k", 24: "i8", 25: "i16", 26: "i32", 27: "i64",
              28: "f64", 30: "bf16"}

# GGUF metadata value types: id -> struct format (8 = string and 9 = array are handled apart).
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


class GgufError(ValueError):
    pass


class _Reader:
    def __init__(self, f, path):
        self.f, self.path = f, path

    def take(self, fmt):
        size = struct.calcsize(fmt)
        raw = self.f.read(size)
        if len(raw) != size:
            raise GgufError(f"{self.path}: truncated GGUF header")
        return struct.unpack(fmt, raw)[0]

    def string(self):
        n = self.take("<Q")
        raw = self.f.read(n)
        if len(raw) != n:
            raise GgufError(f"{self.path}: truncated GGUF header (string of {n} bytes)")
        return raw.decode("utf-8", errors="replace")

    def value(self, vtype, key):
        if vtype in _SCALARS:
            return self.take(_SCALARS[vtype])
        if vtype == 8:
            return self.string()
        if vtype == 9:
            item_type, n = self.take("<I"), self.take("<Q")
            return [self.value(item_type, key) for _ in range(n)]
        raise GgufError(f"{self.path}: metadata key '{key}' has unknown value type {vtype}")


def read(path):
    """Returns (metadata dict, list of tensors {name, shape, type, type_name, offset, bytes}), data offsets absolute."""
    with open(path, "rb") as f:
        r = _Reader(f, path)
        if f.read(4) != b"GGUF":
            raise GgufError(f"{path}: not a GGUF file (magic)")
        version = r.take("<I")
        if version not in (2, 3):
            raise GgufError(f"{path}: GGUF version {version} not supported (2 or 3)")
        n_tensors, n_kv = r.take("<Q"), r.take("<Q")
        meta = {}
        for _ in range(n_kv):
            key = r.string()
            meta[key] = r.value(r.take("<I"), key)
        tensors = []
        for _ in range(n_tensors):
            name = r.string()
            n_dims = r.take("<I")
            shape = [r.take("<Q") for _ in range(n_dims)]
            tensors.append({"name": name, "shape": shape, "type": r.take("<I"), "offset": r.take("<Q")})
        alignment = int(meta.get("general.alignment", 32))
        data_start = -(-f.tell() // alignment) * alignment
    file_end = os.path.getsize(path)
    by_offset = sorted(tensors, key=lambda t: t["offset"])
    for t, nxt in zip(by_offset, by_offset[1:] + [None]):
        t["offset"] += data_start
        span = (nxt["offset"] + data_start if nxt else file_end) - t["offset"]
        elements = 1
        for d in t["shape"]:
            elements *= d
        block = GGML_BLOCKS.get(t["type"])
        if block is None:
            t["bytes"] = span
        else:
            if elements % block[0]:
                raise GgufError(f"{path}: tensor '{t['name']}' has {elements} elements, not a multiple of its type's block {block[0]}")
            t["bytes"] = elements // block[0] * block[1]
            if t["bytes"] > span:
                raise GgufError(f"{path}: tensor '{t['name']}' needs {t['bytes']} bytes but only {span} lie before the next one")
        t["type_name"] = GGML_NAMES.get(t["type"], f"type{t['type']}")
    return meta, tensors
