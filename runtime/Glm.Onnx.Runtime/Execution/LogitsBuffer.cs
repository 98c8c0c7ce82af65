namespace Glm.Onnx.Runtime.Execution;

/// <summary>
/// A view over row-major logits [rows, vocab] owned by an executor. Rows are read in place (the sampler copies a row
/// only when it has to modify it).
/// </summary>
public readonly struct LogitsBuffer
{
    private readonly ReadOnlyMemory<float> _data;

    public LogitsBuffer(ReadOnlyMemory<float> data, int rows, int vocab)
    {
        if (rows < 0 || vocab <= 0 || data.Length < (long)rows * vocab)
            throw new ArgumentException($"Logits buffer: expected at least {rows} x {vocab} floats, got {data.Length}.");
        _data = data;
        Rows = rows;
        Vocab = vocab;
    }

    public int Rows { get; }

    public int Vocab { get; }

    public ReadOnlySpan<float> Row(int row)
    {
        if ((uint)row >= (uint)Rows)
            throw new ArgumentOutOfRangeException(nameof(row), $"Logits row {row} requested from a buffer of {Rows} rows.");
        return _data.Span.Slice(row * Vocab, Vocab);
    }
}
