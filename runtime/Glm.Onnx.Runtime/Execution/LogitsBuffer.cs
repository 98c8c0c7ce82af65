namespace Glm.Onnx.Runtime.Execution;

/// <summary>
/// A view over row-major logits [rows, vocab] owned by an executor, and, when the model hands it out, the hidden state
/// of the same rows after the final norm [rows, hidden] (the MTP draft stage's hidden input; docs/architecture.md,
/// "MTP"). Rows are read in place (the sampler copies a row only when it has to modify it).
/// </summary>
public readonly struct LogitsBuffer
{
    private readonly ReadOnlyMemory<float> _data;
    private readonly ReadOnlyMemory<float> _hidden;

    public LogitsBuffer(ReadOnlyMemory<float> data, int rows, int vocab)
        : this(data, rows, vocab, ReadOnlyMemory<float>.Empty, 0)
    {
    }

    /// <param name="hidden">Row-major [rows, hiddenSize] final hidden states, or empty with <paramref name="hiddenSize"/> 0.</param>
    public LogitsBuffer(ReadOnlyMemory<float> data, int rows, int vocab, ReadOnlyMemory<float> hidden, int hiddenSize)
    {
        if (rows < 0 || vocab <= 0 || data.Length < (long)rows * vocab)
            throw new ArgumentException($"Logits buffer: expected at least {rows} x {vocab} floats, got {data.Length}.");
        if (hiddenSize < 0 || hidden.Length < (long)rows * hiddenSize)
            throw new ArgumentException($"Logits buffer: expected at least {rows} x {hiddenSize} hidden floats, got {hidden.Length}.");
        _data = data;
        _hidden = hidden;
        Rows = rows;
        Vocab = vocab;
        HiddenSize = hiddenSize;
    }

    public int Rows { get; }

    public int Vocab { get; }

    /// <summary>Width of a <see cref="HiddenRow"/>; 0 when the executor hands out no hidden states.</summary>
    public int HiddenSize { get; }

    public bool HasHidden => HiddenSize > 0;

    /// <summary>The final hidden state of logits row <paramref name="row"/> (after the final norm).</summary>
    public ReadOnlySpan<float> HiddenRow(int row)
    {
        if (!HasHidden)
            throw new InvalidOperationException("This logits buffer carries no hidden states (the model has no MTP stage).");
        if ((uint)row >= (uint)Rows)
            throw new ArgumentOutOfRangeException(nameof(row), $"Hidden row {row} requested from a buffer of {Rows} rows.");
        return _hidden.Span.Slice(row * HiddenSize, HiddenSize);
    }

    public ReadOnlySpan<float> Row(int row)
    {
        if ((uint)row >= (uint)Rows)
            throw new ArgumentOutOfRangeException(nameof(row), $"Logits row {row} requested from a buffer of {Rows} rows.");
        return _data.Span.Slice(row * Vocab, Vocab);
    }
}
