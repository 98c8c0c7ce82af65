using System.Text;
using Glm.Onnx.Converter.Onnx;

namespace Glm.Onnx.Tests.Onnx;

/// <summary>A node of a written graph: op, domain, inputs, outputs and its integer attributes.</summary>
internal sealed record ReadNode(string OpType, string Domain, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs,
    IReadOnlyDictionary<string, long> IntAttributes);

/// <summary>An initializer of a written graph: name, element type and dims (its bytes are not read).</summary>
internal sealed record ReadInitializer(string Name, OnnxDataType Type, IReadOnlyList<long> Dims)
{
    public int Rank => Dims.Count;
}

/// <summary>A written stage graph as the tests inspect it.</summary>
internal sealed record ReadGraph(IReadOnlyList<ReadNode> Nodes, IReadOnlyDictionary<string, ReadInitializer> Initializers)
{
    /// <summary>The node that produces <paramref name="value"/>, or null for an initializer or graph input.</summary>
    public ReadNode? Producer(string value) => Nodes.FirstOrDefault(n => n.Outputs.Contains(value));

    public IEnumerable<ReadNode> Consumers(string value) => Nodes.Where(n => n.Inputs.Contains(value));
}

/// <summary>
/// Reads back the parts of an .onnx file the graph tests look at, straight from the protobuf wire format (written
/// independently of the converter's writer, so the test checks the bytes ONNX Runtime would load): ModelProto.graph
/// (7) -> GraphProto.node (1) {input 1, output 2, op_type 4, attribute 5 {name 1, i 3}, domain 7} and initializer (5)
/// {dims 1, data_type 2, name 8}.
/// </summary>
internal static class OnnxGraphReader
{
    public static ReadGraph Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var nodes = new List<ReadNode>();
        var initializers = new Dictionary<string, ReadInitializer>(StringComparer.Ordinal);
        foreach (var (field, graph) in Messages(bytes))
        {
            if (field != 7) continue;
            foreach (var (gf, item) in Messages(graph))
            {
                if (gf == 1) nodes.Add(Node(item));
                else if (gf == 5)
                {
                    var t = Initializer(item);
                    initializers[t.Name] = t;
                }
            }
        }
        return new ReadGraph(nodes, initializers);
    }

    private static ReadNode Node(byte[] message)
    {
        var inputs = new List<string>();
        var outputs = new List<string>();
        var attributes = new Dictionary<string, long>(StringComparer.Ordinal);
        string op = "", domain = "";
        var r = new Wire(message);
        while (r.Next(out int field, out int wireType))
        {
            switch (field, wireType)
            {
                case (1, 2): inputs.Add(r.String()); break;
                case (2, 2): outputs.Add(r.String()); break;
                case (4, 2): op = r.String(); break;
                case (7, 2): domain = r.String(); break;
                case (5, 2):
                    {
                        var a = new Wire(r.Bytes());
                        string name = "";
                        long? value = null;
                        while (a.Next(out int af, out int aw))
                        {
                            if (af == 1 && aw == 2) name = a.String();
                            else if (af == 3 && aw == 0) value = (long)a.Varint();
                            else a.Skip(aw);
                        }
                        if (value is { } v) attributes[name] = v;
                        break;
                    }
                default: r.Skip(wireType); break;
            }
        }
        return new ReadNode(op, domain, inputs, outputs, attributes);
    }

    private static ReadInitializer Initializer(byte[] message)
    {
        var dims = new List<long>();
        string name = "";
        int type = 0;
        var r = new Wire(message);
        while (r.Next(out int field, out int wireType))
        {
            switch (field, wireType)
            {
                case (1, 0): dims.Add((long)r.Varint()); break;
                case (1, 2):
                    {
                        var packed = new Wire(r.Bytes());
                        while (!packed.AtEnd) dims.Add((long)packed.Varint());
                        break;
                    }
                case (2, 0): type = (int)r.Varint(); break;
                case (8, 2): name = r.String(); break;
                default: r.Skip(wireType); break;
            }
        }
        return new ReadInitializer(name, (OnnxDataType)type, dims);
    }

    private static IEnumerable<(int Field, byte[] Message)> Messages(byte[] bytes)
    {
        var r = new Wire(bytes);
        var list = new List<(int, byte[])>();
        while (r.Next(out int field, out int wireType))
        {
            if (wireType == 2) list.Add((field, r.Bytes()));
            else r.Skip(wireType);
        }
        return list;
    }

    /// <summary>Protobuf wire-format cursor: varints, length-delimited fields, fixed 32 / 64-bit skips.</summary>
    private sealed class Wire(byte[] data)
    {
        private int _pos;

        public bool AtEnd => _pos >= data.Length;

        public bool Next(out int field, out int wireType)
        {
            field = wireType = 0;
            if (AtEnd) return false;
            ulong key = Varint();
            field = (int)(key >> 3);
            wireType = (int)(key & 7);
            return true;
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (int shift = 0; ; shift += 7)
            {
                if (_pos >= data.Length) throw new InvalidDataException("protobuf: varint runs past the end");
                byte b = data[_pos++];
                value |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0) return value;
            }
        }

        public byte[] Bytes()
        {
            int length = checked((int)Varint());
            if (_pos + length > data.Length) throw new InvalidDataException("protobuf: field runs past the end");
            var slice = data.AsSpan(_pos, length).ToArray();
            _pos += length;
            return slice;
        }

        public string String() => Encoding.UTF8.GetString(Bytes());

        public void Skip(int wireType)
        {
            switch (wireType)
            {
                case 0: Varint(); break;
                case 1: _pos += 8; break;
                case 2: Bytes(); break;
                case 5: _pos += 4; break;
                default: throw new InvalidDataException($"protobuf: wire type {wireType} is not supported");
            }
        }
    }
}
