using Glm.Onnx.Runtime.Sampling;

namespace Glm.Onnx.Tests;

public sealed class SamplerTests
{
    private static SamplingState State(SamplingOptions options, params int[] prompt) => new(options, prompt);

    private static Dictionary<int, double> Distribution(float[] logits, SamplingState state) =>
        new Sampler().Distribution(logits, state).ToDictionary(e => e.Token, e => e.Probability);

    private static void AssertDistribution(Dictionary<int, double> expected, Dictionary<int, double> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (token, p) in expected)
            Assert.True(Math.Abs(p - actual[token]) < 1e-6, $"token {token}: expected {p}, got {actual[token]}");
    }

    [Fact]
    public void GreedyPicksTheLargestLogitAndTheLowestIdOnTies()
    {
        var sampler = new Sampler();
        Assert.Equal(2, sampler.Sample([0.1f, -3f, 5f, 4.9f], State(SamplingOptions.Greedy)));
        Assert.Equal(1, sampler.Sample([0.1f, 7f, 5f, 7f], State(SamplingOptions.Greedy)));
    }

    [Fact]
    public void TemperatureScalesTheLogitsBeforeTheSoftmax()
    {
        // softmax([1,2,3] / 0.5) = softmax([2,4,6]): e^-4, e^-2, 1 over their sum.
        double a = Math.Exp(-4), b = Math.Exp(-2), sum = a + b + 1;
        AssertDistribution(new() { [0] = a / sum, [1] = b / sum, [2] = 1 / sum },
            Distribution([1f, 2f, 3f], State(new SamplingOptions(Temperature: 0.5f))));
    }

    [Fact]
    public void SoftmaxSubtractsTheMaximumSoHugeLogitsStayFinite()
    {
        double e = Math.Exp(-1);
        AssertDistribution(new() { [0] = 1 / (1 + e), [1] = e / (1 + e) },
            Distribution([1000f, 999f], State(new SamplingOptions(Temperature: 1f))));
    }

    [Fact]
    public void TopKKeepsTheKMostLikely()
    {
        double e = Math.Exp(-1);
        AssertDistribution(new() { [2] = 1 / (1 + e), [1] = e / (1 + e) },
            Distribution([1f, 2f, 3f, 0f], State(new SamplingOptions(Temperature: 1f, TopK: 2))));
    }

    [Fact]
    public void TopPKeepsTheSmallestSetReachingP()
    {
        float[] logits = [MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.15f), MathF.Log(0.05f)];
        AssertDistribution(new() { [0] = 0.5 / 0.8, [1] = 0.3 / 0.8 },
            Distribution(logits, State(new SamplingOptions(Temperature: 1f, TopP: 0.75f))));
        AssertDistribution(new() { [0] = 0.5 / 0.95, [1] = 0.3 / 0.95, [2] = 0.15 / 0.95 },
            Distribution(logits, State(new SamplingOptions(Temperature: 1f, TopP: 0.85f))));
    }

    [Fact]
    public void TopPAfterTopKUsesTheTopKMass()
    {
        // top-k 3 leaves 0.5, 0.3, 0.15 (mass 0.95); p = 0.6 of that is 0.57, reached by the first two.
        float[] logits = [MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.15f), MathF.Log(0.05f)];
        AssertDistribution(new() { [0] = 0.5 / 0.8, [1] = 0.3 / 0.8 },
            Distribution(logits, State(new SamplingOptions(Temperature: 1f, TopK: 3, TopP: 0.6f))));
    }

    [Fact]
    public void TopPWidensBeyondItsFirstWindowOnAFlatDistribution()
    {
        // 1000 equal logits: p = 0.905 needs 905 tokens, far more than the first sorted window; ties keep lower ids.
        var distribution = Distribution(new float[1000], State(new SamplingOptions(Temperature: 1f, TopP: 0.905f)));
        Assert.Equal(905, distribution.Count);
        Assert.Equal(Enumerable.Range(0, 905), distribution.Keys.Order());
        Assert.All(distribution.Values, p => Assert.Equal(1.0 / 905, p, 9));
    }

    [Fact]
    public void MinPDropsTokensBelowAFractionOfTheMostLikely()
    {
        float[] logits = [MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.15f), MathF.Log(0.05f)];
        // threshold 0.2 * 0.5 = 0.1 drops the 0.05 token.
        AssertDistribution(new() { [0] = 0.5 / 0.95, [1] = 0.3 / 0.95, [2] = 0.15 / 0.95 },
            Distribution(logits, State(new SamplingOptions(Temperature: 1f, MinP: 0.2f))));
    }

    [Fact]
    public void RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfSeenTokens()
    {
        // prompt has 0 and 1; output adds 2. Penalty 2: [2, -1, 0.5, 1] -> [1, -2, 0.25, 1].
        var state = State(new SamplingOptions(Temperature: 1f, RepetitionPenalty: 2f), 0, 1, 1);
        state.Accept(2);
        double[] w = [Math.E, Math.Exp(-2), Math.Exp(0.25), Math.E];
        double sum = w.Sum();
        AssertDistribution(new() { [0] = w[0] / sum, [1] = w[1] / sum, [2] = w[2] / sum, [3] = w[3] / sum },
            Distribution([2f, -1f, 0.5f, 1f], state));
    }

    [Fact]
    public void PresenceAndFrequencyPenaltiesCountOutputTokensOnly()
    {
        // Prompt token 1 is not penalised; output 3,3,2: token 3 loses 2*0.5+1 = 2, token 2 loses 0.5+1 = 1.5.
        var state = State(new SamplingOptions(Temperature: 1f, PresencePenalty: 1f, FrequencyPenalty: 0.5f), 1);
        state.Accept(3);
        state.Accept(3);
        state.Accept(2);
        double[] w = [Math.Exp(0), Math.Exp(1), Math.Exp(1 - 1.5), Math.Exp(2 - 2)];
        double sum = w.Sum();
        AssertDistribution(new() { [0] = w[0] / sum, [1] = w[1] / sum, [2] = w[2] / sum, [3] = w[3] / sum },
            Distribution([0f, 1f, 1f, 2f], state));
    }

    [Fact]
    public void GreedyWithPenaltiesAppliesThemFirst()
    {
        var state = State(new SamplingOptions(RepetitionPenalty: 4f), 0);
        Assert.Equal(1, new Sampler().Sample([2f, 1f, 0f], state)); // 2 / 4 = 0.5 < 1
    }

    [Fact]
    public void DrawsFollowTheDistribution()
    {
        float[] logits = [MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.15f), MathF.Log(0.05f)];
        var state = State(new SamplingOptions(Temperature: 1f, Seed: 1234));
        var sampler = new Sampler();
        var counts = new int[4];
        const int draws = 40_000;
        for (int i = 0; i < draws; i++)
            counts[sampler.Sample(logits, state)]++;
        double[] expected = [0.5, 0.3, 0.15, 0.05];
        for (int t = 0; t < 4; t++)
            Assert.True(Math.Abs(counts[t] / (double)draws - expected[t]) < 0.01, $"token {t}: {counts[t]} of {draws}");
    }

    [Fact]
    public void TheSameSeedGivesTheSameDraws()
    {
        var logits = Enumerable.Range(0, 50).Select(i => MathF.Sin(i)).ToArray();
        var options = new SamplingOptions(Temperature: 0.8f, TopK: 20, TopP: 0.9f, Seed: 42);
        var a = State(options);
        var b = State(options);
        var sampler = new Sampler();
        var first = Enumerable.Range(0, 100).Select(_ => sampler.Sample(logits, a)).ToArray();
        var second = Enumerable.Range(0, 100).Select(_ => sampler.Sample(logits, b)).ToArray();
        Assert.Equal(first, second);
        Assert.True(first.Distinct().Count() > 3);
    }

    [Fact]
    public void NaNLogitsAreAClearError()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new Sampler().Sample([0f, float.NaN], State(SamplingOptions.Greedy)));
        Assert.Contains("NaN", error.Message);
    }

    [Theory]
    [InlineData(-1f, 0, 1f, 0f, 1f, "temperature")]
    [InlineData(1f, -2, 1f, 0f, 1f, "top_k")]
    [InlineData(1f, 0, 0f, 0f, 1f, "top_p")]
    [InlineData(1f, 0, 1f, 1.5f, 1f, "min_p")]
    [InlineData(1f, 0, 1f, 0f, 0f, "repetition_penalty")]
    public void InvalidOptionsAreRejectedByName(float temperature, int topK, float topP, float minP, float repetition, string name)
    {
        var options = new SamplingOptions(temperature, topK, topP, minP, repetition);
        Assert.Contains(name, Assert.Throws<ArgumentException>(options.Validate).Message);
    }
}
