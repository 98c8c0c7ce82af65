namespace Glm.Onnx.Converter.Onnx;

/// <summary>An ONNX GraphProto: nodes in topological order, initializers, declared inputs and outputs.</summary>
public sealed record OnnxGraph(
    string Name,
    IReadOnlyList<OnnxNode> Nodes,
    IReadOnlyList<OnnxTensor> Initializers,
    IReadOnlyList<OnnxValueInfo> Inputs,
    IReadOnlyList<OnnxValueInfo> Outputs)
{
    // GraphProto fields: node 1, name 2, initializer 5, input 11, output 12.
    internal void WriteTo(ProtoWriter w)
    {
        foreach (var n in Nodes) w.WriteMessage(1, n.WriteTo);
        w.WriteString(2, Name);
        foreach (var t in Initializers) w.WriteMessage(5, t.WriteTo);
        foreach (var i in Inputs) w.WriteMessage(11, i.WriteTo);
        foreach (var o in Outputs) w.WriteMessage(12, o.WriteTo);
    }
}

/// <summary>An operator set the model imports: the default domain is "".</summary>
public sealed record OnnxOpset(string Domain, long Version);

/// <summary>An ONNX ModelProto. Serialise with <see cref="ToBytes"/>; the result is what an .onnx file holds.</summary>
public sealed record OnnxModel(OnnxGraph Graph, IReadOnlyList<OnnxOpset> Opsets, string ProducerName, string ProducerVersion)
{
    /// <summary>IR version 9 (ONNX 1.14): the first with float8 types, read by every ONNX Runtime we target.</summary>
    public const long IrVersion = 9;

    // ModelProto fields: ir_version 1, producer_name 2, producer_version 3, graph 7, opset_import 8.
    // OperatorSetIdProto: domain 1, version 2.
    public byte[] ToBytes()
    {
        var w = new ProtoWriter();
        w.WriteInt64(1, IrVersion);
        w.WriteString(2, ProducerName);
        w.WriteString(3, ProducerVersion);
        w.WriteMessage(7, Graph.WriteTo);
        foreach (var o in Opsets)
            w.WriteMessage(8, op => { op.WriteString(1, o.Domain); op.WriteInt64(2, o.Version); });
        return w.ToArray();
    }
}
