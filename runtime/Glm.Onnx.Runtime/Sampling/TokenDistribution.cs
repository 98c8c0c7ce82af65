namespace Glm.Onnx.Runtime.Sampling;

/// <summary>
/// A processed next-token distribution over the vocabulary (after penalties, temperature, top-k/p and min-p), as
/// speculative decoding needs it: the drafter's q for each draft token, the target's p at each verified position
/// (docs/speculative.md). Dense for O(1) lookups, with the list of tokens of nonzero probability so clearing and
/// walking cost only the support, never the whole vocabulary. Reused round to round; owned by one step thread.
/// </summary>
public sealed class TokenDistribution
{
    private double[] _probabilities = [];
    private int[] _support = [];
    private int _count;

    /// <summary>Width of the logits row this distribution was computed from.</summary>
    public int VocabSize { get; private set; }

    /// <summary>The tokens of nonzero probability, in the order they were set (most likely first after a top-k/p cut).</summary>
    public ReadOnlySpan<int> Support => _support.AsSpan(0, _count);

    /// <summary>Probability of <paramref name="token"/>; 0 outside the support or outside the vocabulary.</summary>
    public double this[int token] => (uint)token < (uint)VocabSize ? _probabilities[token] : 0.0;

    /// <summary>True when one token carries all the mass (greedy, or a forced token).</summary>
    public bool IsPointMass => _count == 1;

    /// <summary>Empties the distribution for a row of <paramref name="vocabSize"/> tokens.</summary>
    internal void Reset(int vocabSize)
    {
        if (_probabilities.Length < vocabSize)
        {
            _probabilities = new double[vocabSize];
            _support = new int[vocabSize];
        }
        else
        {
            foreach (var token in Support)
                _probabilities[token] = 0.0;
        }
        _count = 0;
        VocabSize = vocabSize;
    }

    /// <summary>Adds a token of the support; each token at most once, with a positive probability.</summary>
    internal void Add(int token, double probability)
    {
        _probabilities[token] = probability;
        _support[_count++] = token;
    }

    /// <summary>The distribution that puts all its mass on <paramref name="token"/>.</summary>
    internal void SetPointMass(int token, int vocabSize)
    {
        Reset(vocabSize);
        Add(token, 1.0);
    }
}
