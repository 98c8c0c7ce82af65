namespace Glm.Onnx.Converter.Onnx;

/// <summary>An ONNX NodeProto. An empty input name means "optional input not given", as ONNX defines.</summary>
public sealed record OnnxNode(
    string Name,
    string OpType,
    IReadOnlyList<string> Inputs,
    IReadOnlyList<string> Outputs,
    IReadOnlyList<OnnxAttribute> Attributes,
    string Domain = "")
{
    // NodeProto fields: input 1, output 2, name 3, op_type 4, attribute 5, domain 7.
    internal void WriteTo(ProtoWriter w)
    {
        foreach (var i in Inputs) w.WriteString(1, i);
        foreach (var o in Outputs) w.WriteString(2, o);
        w.WriteString(3, Name);
        w.WriteString(4, OpType);
        foreach (var a in Attributes) w.WriteMessage(5, a.WriteTo);
        if (Domain.Length > 0) w.WriteString(7, Domain);
    }
}
