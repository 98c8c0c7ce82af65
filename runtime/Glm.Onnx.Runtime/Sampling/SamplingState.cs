namespace Glm.Onnx.Runtime.Sampling;

/// <summary>Everything the sampler needs about one request: its options, its random streams and its token counts.</summary>
public sealed class SamplingState
{
    // Separates the drafter's stream from the verifier's: the seed is mixed with this before seeding it.
    private const ulong DraftStreamSalt = 0xD1B54A32D192ED03UL;

    private SequenceRandom? _draftRandom;
    private readonly ulong _seed;

    public SamplingState(SamplingOptions options, ReadOnlySpan<int> prompt)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _seed = options.Seed ?? (ulong)System.Random.Shared.NextInt64();
        Random = new SequenceRandom(_seed);
        History = new TokenHistory(options.HasPenalties ? prompt : ReadOnlySpan<int>.Empty);
    }

    public SamplingOptions Options { get; }

    /// <summary>The stream plain sampling and speculative verification draw from.</summary>
    public SequenceRandom Random { get; }

    /// <summary>
    /// The stream the drafter draws its draft tokens from (docs/speculative.md): a second stream of the same seed, so
    /// drafting never shifts the verifier's draws and a seeded request stays reproducible run to run for a given
    /// number of draft tokens. Created on first use.
    /// </summary>
    public SequenceRandom DraftRandom => _draftRandom ??= new SequenceRandom(new SequenceRandom(_seed ^ DraftStreamSalt).NextUInt64());

    public TokenHistory History { get; }

    /// <summary>Tokens recorded with <see cref="Accept"/> so far.</summary>
    public long AcceptedCount { get; private set; }

    /// <summary>Records a generated token (the sampler's penalties count it from now on).</summary>
    public void Accept(int token)
    {
        AcceptedCount++;
        if (Options.HasPenalties)
            History.AddOutput(token);
    }
}
