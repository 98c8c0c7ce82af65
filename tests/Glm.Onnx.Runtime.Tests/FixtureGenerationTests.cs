using Glm.Onnx.Converter;
using Glm.Onnx.Converter.Conversion;
using Glm.Onnx.Runtime;
using Glm.Onnx.Runtime.Cache;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Sampling;
using Glm.Onnx.Runtime.Scheduling;
using Glm.Onnx.Verification;
using static Glm.Onnx.Tests.Fakes.EngineRuns;

namespace Glm.Onnx.Tests;

/// <summary>Converts every fixture at fp32 once (the converter library) and keeps the artifacts for the class.</summary>
public sealed class ConvertedFixtures : IDisposable
{
    private readonly TempDir _dir = Fixtures.NewTempDir("rt-fixtures");
    private readonly Dictionary<string, string> _converted = new();
    private readonly Lock _lock = new();

    public string Artifacts(string fixture)
    {
        lock (_lock)
        {
            if (!_converted.TryGetValue(fixture, out var path))
            {
                path = _dir.File(fixture);
                // Three stages for glm52-tiny so the executor's stage hand-over (hidden states, top-k) is exercised.
                var options = new ConvertOptions(Fixtures.GlmDir(fixture), path) { Precision = TargetPrecision.Fp32 };
                if (fixture == "glm52-tiny") options = options with { StageLayers = [1, 3, 4] };
                ModelConverter.Convert(options, SilentProgress.Instance);
                _converted[fixture] = path;
            }
            return path;
        }
    }

    public void Dispose() => _dir.Dispose();
}

/// <summary>The engine on converted fixtures: golden greedy tokens and logits, chunked prefill, batching.</summary>
public sealed class FixtureGenerationTests(ConvertedFixtures converted) : IClassFixture<ConvertedFixtures>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    public static TheoryData<string> AllFixtures() => new(Fixtures.GlmNames);

    private GlmModel Load(string fixture, int blocks = 128) =>
        GlmModel.Load(converted.Artifacts(fixture), new GlmModelOptions(Cache: new KvCacheOptions(NumBlocks: blocks, BlockSize: 4), IntraOpThreads: 1));

    private static IReadOnlyList<ReferencePrompt> Prompts(string fixture, int vocab) =>
        ReferencePrompts.Load(Path.Combine(Fixtures.GlmDir(fixture), "reference.safetensors"), vocab);


    private static double MaxAbs(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        double max = 0;
        for (int i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs(a[i] - b[i]));
        return max;
    }

    [Theory]
    [MemberData(nameof(AllFixtures))]
    public async Task GreedyGenerationReproducesTheGoldenTokensAndLogits(string fixture)
    {
        using var model = Load(fixture);
        using var engine = model.CreateEngine();
        int vocab = model.Executor.Info.VocabSize;
        foreach (var prompt in Prompts(fixture, vocab))
        {
            var golden = prompt.GreedyIds ?? throw new InvalidDataException($"{fixture}/{prompt.Name} has no greedy_ids");
            var goldenLogits = prompt.GreedyLogits!;
            int steps = golden.Length - prompt.InputIds.Length;
            var request = new GenerationRequest(prompt.InputIds.Select(i => (int)i).ToArray())
            {
                MaxNewTokens = steps, IgnoreEos = true, ReturnLogits = true,
            };
            var tokens = await Collect(engine, request);
            Assert.Equal(golden.Skip(prompt.InputIds.Length).Select(i => (int)i), tokens.Select(t => t.TokenId));
            for (int s = 0; s < steps; s++)
            {
                double err = MaxAbs(goldenLogits.AsSpan(s * vocab, vocab), tokens[s].Logits);
                Assert.True(err <= 1e-3, $"{fixture}/{prompt.Name} step {s}: max abs error {err}");
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    public async Task ChunkedPrefillGivesTheSameLogitsAsOneShot(int chunk)
    {
        const string fixture = "glm52-tiny";
        using var model = Load(fixture);
        int vocab = model.Executor.Info.VocabSize;
        var prompt = Prompts(fixture, vocab).Single(p => p.Name == "long");
        var ids = prompt.InputIds.Select(i => (int)i).ToArray();
        float[] oneShot, chunked;
        using (var engine = model.CreateEngine(new SchedulerOptions(EnablePrefixCaching: false)))
            oneShot = await engine.ComputePromptLogitsAsync(ids).WaitAsync(Timeout);
        using (var engine = model.CreateEngine(new SchedulerOptions(MaxTokensPerStep: chunk, EnablePrefixCaching: false)))
            chunked = await engine.ComputePromptLogitsAsync(ids).WaitAsync(Timeout);
        Assert.True(MaxAbs(prompt.PrefillLogits, oneShot) <= 1e-3, "one-shot prefill differs from the reference");
        double err = MaxAbs(oneShot, chunked);
        Assert.True(err <= 1e-4, $"chunk {chunk}: max abs difference to one-shot {err}");
    }

    [Fact]
    public async Task BatchedRequestsMatchIsolatedOnesAndPrefixReuseIsReported()
    {
        const string fixture = "glm52-tiny";
        using var model = Load(fixture, blocks: 40);
        int vocab = model.Executor.Info.VocabSize;
        var longPrompt = Prompts(fixture, vocab).Single(p => p.Name == "long").InputIds.Select(i => (int)i).ToArray();
        GenerationRequest Request(int i) => new(longPrompt[(i * 3)..(10 + i * 3 + i % 3 * 5)])
        {
            MaxNewTokens = 4 + i % 3,
            IgnoreEos = true,
            Sampling = i % 2 == 0 ? SamplingOptions.Greedy : new SamplingOptions(Temperature: 0.9f, TopP: 0.9f, Seed: (ulong)i),
        };
        var alone = new List<int[]>();
        using (var engine = model.CreateEngine(new SchedulerOptions(EnablePrefixCaching: false)))
            for (int i = 0; i < 8; i++)
                alone.Add((await Collect(engine, Request(i))).Select(t => t.TokenId).ToArray());

        using var batched = model.CreateEngine(new SchedulerOptions(MaxTokensPerStep: 32));
        var together = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Collect(batched, Request(i))));
        for (int i = 0; i < 8; i++)
            Assert.Equal(alone[i], together[i].Select(t => t.TokenId));

        // The same prompt again: served from the prefix cache, same tokens.
        var again = await Collect(batched, Request(0));
        Assert.Equal(alone[0], again.Select(t => t.TokenId));
        Assert.True(again[^1].Usage!.ReusedPromptTokens >= 8, $"reused {again[^1].Usage!.ReusedPromptTokens}");
    }
}
