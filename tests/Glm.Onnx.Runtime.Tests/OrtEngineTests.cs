using Glm.Onnx.Runtime;
using Glm.Onnx.Runtime.Cache;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Sampling;
using Glm.Onnx.Runtime.Scheduling;
using Glm.Onnx.Tests.Fakes;
using static Glm.Onnx.Tests.Fakes.EngineRuns;

namespace Glm.Onnx.Tests;

/// <summary>
/// The ONNX Runtime path end to end on a hand-written one-layer artifacts directory that uses the real
/// SparseMlaAttention op over a paged pool: GlmModel loading, pools bound in place, IOBinding, the engine.
/// </summary>
public sealed class OrtEngineTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);
    private readonly TempDir _dir = Fixtures.NewTempDir("rt-ort");
    private readonly TinyAttentionModel _model = new();

    public OrtEngineTests() => _model.Write(_dir.Path);

    public void Dispose() => _dir.Dispose();

    private static int[] Prompt(int length, int seed) =>
        Enumerable.Range(0, length).Select(i => (i * 5 + seed * 3 + i * i) % TinyAttentionModel.Vocab).ToArray();

    private GlmModel Load(int blocks = 64) => GlmModel.Load(_dir.Path, new GlmModelOptions(Cache: new KvCacheOptions(NumBlocks: blocks), IntraOpThreads: 1));


    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"element {i}: expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public async Task GreedyGenerationMatchesThePlainReferenceAndStepLogitsAgree()
    {
        using var model = Load();
        using var engine = model.CreateEngine();
        var prompt = Prompt(7, 1);
        var tokens = await Collect(engine, new GenerationRequest(prompt) { MaxNewTokens = 10, ReturnLogits = true });
        Assert.Equal(_model.ReferenceGreedy(prompt, 10), tokens.Select(t => t.TokenId));
        var history = prompt.ToList();
        var expected = new float[TinyAttentionModel.Vocab];
        foreach (var token in tokens)
        {
            _model.ReferenceLogits(history.ToArray(), expected);
            AssertClose(expected, token.Logits, 1e-4f);
            history.Add(token.TokenId);
        }
    }

    [Fact]
    public async Task ChunkedPrefillGivesTheSameLogitsAsOneShot()
    {
        var prompt = Prompt(19, 2);
        var reference = new float[prompt.Length * TinyAttentionModel.Vocab];
        for (int p = 0; p < prompt.Length; p++)
            _model.ReferenceLogits(prompt.AsSpan(0, p + 1), reference.AsSpan(p * TinyAttentionModel.Vocab, TinyAttentionModel.Vocab));
        float[]? oneShot = null;
        foreach (var budget in new[] { 512, 1, 3, 7 })
        {
            using var model = Load();
            using var engine = model.CreateEngine(new SchedulerOptions(MaxTokensPerStep: budget));
            var logits = await engine.ComputePromptLogitsAsync(prompt).WaitAsync(Timeout);
            AssertClose(reference, logits, 1e-4f);
            oneShot ??= logits;
            AssertClose(oneShot, logits, 1e-5f);
        }
    }

    [Fact]
    public async Task ConcurrentRequestsProduceWhatEachProducesAlone()
    {
        GenerationRequest Request(int i) => new(Prompt(2 + 3 * i % 11, i))
        {
            MaxNewTokens = 5 + i % 4,
            Sampling = i % 2 == 0 ? SamplingOptions.Greedy : new SamplingOptions(Temperature: 0.8f, TopK: 6, Seed: (ulong)i),
        };
        var alone = new List<int[]>();
        using (var model = Load())
        using (var engine = model.CreateEngine(new SchedulerOptions(EnablePrefixCaching: false)))
            for (int i = 0; i < 8; i++)
                alone.Add((await Collect(engine, Request(i))).Select(t => t.TokenId).ToArray());

        using var shared = Load(blocks: 16);
        using var batched = shared.CreateEngine(new SchedulerOptions(MaxTokensPerStep: 24));
        var together = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Collect(batched, Request(i))));
        for (int i = 0; i < 8; i++)
            Assert.Equal(alone[i], together[i].Select(t => t.TokenId));
        Assert.Equal(16, batched.FreeBlockCount);
    }

    [Fact]
    public async Task TheOpWritesTheNewTokensIntoTheNativePoolInPlace()
    {
        using var model = Load(blocks: 8);
        using var engine = model.CreateEngine(new SchedulerOptions(EnablePrefixCaching: false));
        var pool = model.Cache.LatentPool(0);
        var prompt = Prompt(6, 3);
        var tokens = await Collect(engine, new GenerationRequest(prompt) { MaxNewTokens = 3 });
        // A fresh allocator hands out blocks 0, 1, ... in order: position p lives in block p / 4, row p % 4.
        var sequence = prompt.Concat(tokens.Select(t => t.TokenId)).ToArray();
        for (int p = 0; p < sequence.Length - 1; p++) // the last sampled token is never fed back
            Assert.Equal(_model.KeyEmbedding.AsSpan(sequence[p] * TinyAttentionModel.Width, TinyAttentionModel.Width).ToArray(),
                pool.ReadRow(p / TinyAttentionModel.BlockSize, p % TinyAttentionModel.BlockSize));
    }

    [Fact]
    public async Task APrefixCachedRequestReusesBlocksAndMatches()
    {
        using var model = Load();
        using var engine = model.CreateEngine();
        var prompt = Prompt(13, 4);
        var first = await Collect(engine, new GenerationRequest(prompt) { MaxNewTokens = 6 });
        var second = await Collect(engine, new GenerationRequest(prompt) { MaxNewTokens = 6 });
        Assert.Equal(first.Select(t => t.TokenId), second.Select(t => t.TokenId));
        Assert.Equal(12, second[^1].Usage!.ReusedPromptTokens);
        Assert.Equal(_model.ReferenceGreedy(prompt, 6), second.Select(t => t.TokenId));
    }

    [Fact]
    public void CacheSizeComesFromABudgetOrABlockCount()
    {
        // 1 layer x 8 floats x 4 tokens x 4 bytes = 128 bytes per block.
        using (var model = GlmModel.Load(_dir.Path, new GlmModelOptions(Cache: new KvCacheOptions(MemoryBudgetBytes: 128 * 100))))
        {
            Assert.Equal(100, model.Cache.NumBlocks);
            Assert.Equal(100, model.Executor.Info.NumBlocks);
            Assert.Equal(128 * 100, model.Cache.TotalBytes);
        }
        using (var model = Load(blocks: 5))
            Assert.Equal(5, model.Cache.LatentPool(0).NumBlocks);
    }

    [Fact]
    public void LoadFailsClearlyWhenSomethingIsMissing()
    {
        using (var empty = Fixtures.NewTempDir())
            Assert.Contains("glm-model.json is missing", Assert.Throws<FileNotFoundException>(() => GlmModel.Load(empty.Path)).Message);
        Assert.Contains("does not exist", Assert.Throws<DirectoryNotFoundException>(() => GlmModel.Load(_dir.File("nope"))).Message);
        Assert.Contains("cuda:0", Assert.ThrowsAny<NotSupportedException>(() => GlmModel.Load(_dir.Path, new GlmModelOptions(Devices: ["cuda:0"]))).Message);
        Assert.Contains("not recognised", Assert.Throws<ArgumentException>(() => GlmModel.Load(_dir.Path, new GlmModelOptions(Devices: ["tpu"]))).Message);

        File.AppendAllText(_dir.File("stage-0.onnx"), "x");
        Assert.Contains("stage-0.onnx", Assert.Throws<InvalidDataException>(() => GlmModel.Load(_dir.Path)).Message);
        File.Delete(_dir.File("stage-0.onnx"));
        Assert.Contains("stage-0.onnx", Assert.Throws<FileNotFoundException>(() => GlmModel.Load(_dir.Path)).Message);
    }
}
