"""The initializers of an ONNX model file: name, ONNX data type, shape and stored bytes, without the onnx package.

Reads the ModelProto's protobuf wire format directly (graph = field 7, initializer = field 5 of GraphProto; TensorProto:
dims 1, data_type 2, name 8, raw_data 9, external_data 13 with key/value entries). The weights of our artifacts live
in external data files (docs/artifacts.md), whose `length` entry is the stored size; inline tensors count their
raw_data. Subgraphs are not visited: our stages keep every weight at the top level.
"""


class OnnxError(ValueError):
    pass


def _varint(buf, i, path):
    value = shift = 0
    while True:
        if i >= len(buf):
            raise OnnxError(f"{path}: truncated protobuf varint")
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _fields(buf, path):
    """Yields (field number, wire type, value): ints for varints, bytes for the rest."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i, path)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i, path)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        elif wire == 2:
            n, i = _varint(buf, i, path)
            if i + n > len(buf):
                raise OnnxError(f"{path}: truncated protobuf field {field}")
            value, i = buf[i:i + n], i + n
        else:
            raise OnnxError(f"{path}: unsupported protobuf wire type {wire} (field {field})")
        yield field, wire, value


def _tensor(buf, path):
    t = {"name": "", "shape": [], "data_type": 0, "bytes": 0, "location": None}
    external = {}
    for field, wire, value in _fields(buf, path):
        if field == 1:
            if wire == 0:
                t["shape"].append(value)
            else:  # packed
                j = 0
                while j < len(value):
                    d, j = _varint(value, j, path)
                    t["shape"].append(d)
        elif field == 2:
            t["data_type"] = value
        elif field == 8:
            t["name"] = value.decode("utf-8", errors="replace")
        elif field == 9:
            t["bytes"] = len(value)
        elif field == 13:
            entry = {f: v.decode("utf-8", errors="replace") for f, _, v in _fields(value, path)}
            external[entry.get(1)] = entry.get(2)
    if external:
        if "length" not in external:
            raise OnnxError(f"{path}: initializer '{t['name']}' has external data without a 'length' entry")
        t["bytes"] = int(external["length"])
        t["location"] = external.get("location")
    return t


def read(path):
    """Returns the list of initializers {name, shape, data_type, bytes, location} of the model's main graph."""
    with open(path, "rb") as f:
        model = f.read()
    graphs = [v for field, wire, v in _fields(model, path) if field == 7 and wire == 2]
    if len(graphs) != 1:
        raise OnnxError(f"{path}: expected one graph in the ModelProto, found {len(graphs)}")
    return [_tensor(v, path) for field, wire, v in _fields(graphs[0], path) if field == 5 and wire == 2]
