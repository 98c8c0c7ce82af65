namespace Glm.Onnx.Checkpoint;

/// <summary>
/// One tensor as described by a safetensors header.
/// <paramref name="DataOffset"/> is relative to the start of the data section (the byte after the header), as in the
/// header's <c>data_offsets</c>.
/// </summary>
/// <param name="Name">Tensor name, e.g. <c>model.layers.0.self_attn.q_a_proj.weight</c>.</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Dimensions, outermost first; empty for a scalar.</param>
/// <param name="FilePath">Full path of the safetensors file that holds the bytes.</param>
/// <param name="DataOffset">First byte, relative to the data section.</param>
/// <param name="ByteLength">Number of bytes (= ElementCount x element size).</param>
public sealed record TensorInfo(string Name, DType DType, long[] Shape, string FilePath, long DataOffset, long ByteLength)
{
    /// <summary>Product of the dimensions (1 for a scalar).</summary>
    public long ElementCount => ShapeMath.ElementCount(Shape);

    /// <summary>The shape as "[a, b]" for messages.</summary>
    public string ShapeText => ShapeMath.Format(Shape);
}

/// <summary>Small helpers for shapes.</summary>
public static class ShapeMath
{
    /// <summary>Product of the dimensions; throws <see cref="OverflowException"/> past long.MaxValue.</summary>
    public static long ElementCount(ReadOnlySpan<long> shape)
    {
        long n = 1;
        foreach (var d in shape) n = checked(n * d);
        return n;
    }

    /// <summary>"[a, b, c]".</summary>
    public static string Format(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>Element-wise equality.</summary>
    public static bool Equal(ReadOnlySpan<long> a, ReadOnlySpan<long> b) => a.SequenceEqual(b);
}
