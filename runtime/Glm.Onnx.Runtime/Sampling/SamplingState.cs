namespace Glm.Onnx.Runtime.Sampling;

/// <summary>Everything the sampler needs about one request: its options, its random stream and its token counts.</summary>
public sealed class SamplingState
{
    public SamplingState(SamplingOptions options, ReadOnlySpan<int> prompt)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Random = new SequenceRandom(options.Seed ?? (ulong)System.Random.Shared.NextInt64());
        History = new TokenHistory(options.HasPenalties ? prompt : ReadOnlySpan<int>.Empty);
    }

    public SamplingOptions Options { get; }

    public SequenceRandom Random { get; }

    public TokenHistory History { get; }

    /// <summary>Records a generated token (the sampler's penalties count it from now on).</summary>
    public void Accept(int token)
    {
        if (Options.HasPenalties)
            History.AddOutput(token);
    }
}
