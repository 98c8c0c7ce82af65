using Microsoft.ML.OnnxRuntime;

namespace Glm.Onnx.Runtime.Execution;

/// <summary>
/// A host tensor reused from step to step: a managed array (grown, never shrunk) and the OrtValue over its first
/// elements, kept while the shape stays the same. At decode the batch shapes repeat step after step, so a step costs
/// a copy of a few numbers instead of a new pinned OrtValue per input and output (docs/benchmarks.md, "Where a
/// decode step goes"). Owned by one step thread.
/// </summary>
internal sealed class ReusedTensor<T> : IDisposable where T : unmanaged
{
    private OrtValue? _value;
    private long _rows = -1, _cols = -1;

    /// <summary>The backing array; its first elements are the tensor's (row-major).</summary>
    public T[] Array { get; private set; } = [];

    /// <summary>
    /// The tensor [rows] (<paramref name="cols"/> negative) or [rows, cols] over the array's first elements. The
    /// array keeps room for at least one row, so that a tensor of 0 rows still has a buffer to point at.
    /// </summary>
    public OrtValue View(long rows, long cols = -1)
    {
        if (_value is not null && rows == _rows && cols == _cols)
            return _value;
        long count = rows * Math.Max(cols, 1), room = Math.Max(rows, 1) * Math.Max(cols, 1);
        _value?.Dispose();
        _value = null;
        if (Array.Length < room)
            Array = new T[room];
        long[] shape = cols < 0 ? [rows] : [rows, cols];
        _value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, Array.AsMemory(0, checked((int)count)), shape);
        (_rows, _cols) = (rows, cols);
        return _value;
    }

    /// <summary>The tensor [rows] or [rows, cols] holding a copy of <paramref name="source"/> (exactly its elements).</summary>
    public OrtValue Fill(ReadOnlySpan<T> source, long rows, long cols = -1)
    {
        if (source.Length != rows * Math.Max(cols, 1))
            throw new ArgumentException($"A [{rows}{(cols < 0 ? "" : $", {cols}")}] tensor needs {rows * Math.Max(cols, 1)} elements, got {source.Length}.", nameof(source));
        var value = View(rows, cols);
        source.CopyTo(Array);
        return value;
    }

    public void Dispose()
    {
        _value?.Dispose();
        _value = null;
        (_rows, _cols) = (-1, -1);
    }
}
