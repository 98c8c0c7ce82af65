namespace Glm.Onnx.Converter.Onnx;

/// <summary>
/// A graph input or output (ValueInfoProto with a tensor TypeProto). Each dimension is either a fixed size or a
/// symbolic name such as "num_tokens".
/// </summary>
public sealed record OnnxValueInfo(string Name, OnnxDataType ElementType, IReadOnlyList<OnnxDim> Shape)
{
    // ValueInfoProto: name 1, type 2. TypeProto: tensor_type 1. TypeProto.Tensor: elem_type 1, shape 2.
    // TensorShapeProto: dim 1. Dimension: dim_value 1, dim_param 2.
    internal void WriteTo(ProtoWriter w)
    {
        w.WriteString(1, Name);
        w.WriteMessage(2, type => type.WriteMessage(1, tensor =>
        {
            tensor.WriteInt32(1, (int)ElementType);
            tensor.WriteMessage(2, shape =>
            {
                foreach (var d in Shape)
                    shape.WriteMessage(1, dim =>
                    {
                        if (d.Symbol is null) dim.WriteInt64(1, d.Value);
                        else dim.WriteString(2, d.Symbol);
                    });
            });
        }));
    }
}

/// <summary>One dimension of a declared shape: a fixed value or a symbolic parameter.</summary>
public readonly record struct OnnxDim(long Value, string? Symbol)
{
    public static implicit operator OnnxDim(long value) => new(value, null);
    public static implicit operator OnnxDim(string symbol) => new(0, symbol);
    public override string ToString() => Symbol ?? Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
