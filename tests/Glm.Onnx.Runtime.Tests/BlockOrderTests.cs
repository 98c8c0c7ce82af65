using Glm.Onnx.Runtime;
using Glm.Onnx.Runtime.Cache;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Scheduling;
using Glm.Onnx.Tests.Fakes;

namespace Glm.Onnx.Tests;

/// <summary>
/// The reversed block order verification uses: a sequence's logical blocks land in different physical blocks, so the
/// custom ops must follow the block table to produce the reference output.
/// </summary>
public sealed class BlockOrderTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);
    private readonly TempDir _dir = Fixtures.NewTempDir("rt-order");
    private readonly TinyAttentionModel _model = new();

    public BlockOrderTests() => _model.Write(_dir.Path);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void AReversedAllocatorHandsOutTheLastBlockFirst()
    {
        var allocator = new BlockAllocator(5, 2, BlockOrder.Reversed);
        Assert.Equal([4, 3, 2, 1, 0], Enumerable.Range(0, 5).Select(_ => allocator.Allocate()));
        Assert.Contains("exhausted", Assert.Throws<InvalidOperationException>(() => allocator.Allocate()).Message);
    }

    [Fact]
    public async Task WithReversedBlocksTheOpsFollowTheTableAndMatchTheReference()
    {
        using var model = GlmModel.Load(_dir.Path, new GlmModelOptions(
            Cache: new KvCacheOptions(NumBlocks: 8, BlockOrder: BlockOrder.Reversed), IntraOpThreads: 1));
        using var engine = model.CreateEngine(new SchedulerOptions(EnablePrefixCaching: false));
        int[] prompt = [3, 9, 1, 14, 7, 7, 2];
        async Task<List<int>> Generate()
        {
            var ids = new List<int>();
            await foreach (var token in engine.GenerateAsync(new GenerationRequest(prompt) { MaxNewTokens = 5 }))
                ids.Add(token.TokenId);
            return ids;
        }
        var tokens = await Generate().WaitAsync(Timeout);

        Assert.Equal(_model.ReferenceGreedy(prompt, 5), tokens);
        // Position p of the only sequence is in logical block p / 4, which the reversed allocator maps to 7 - p / 4.
        var pool = model.Cache.LatentPool(0);
        var sequence = prompt.Concat(tokens).ToArray();
        for (int p = 0; p < sequence.Length - 1; p++) // the last sampled token is never fed back
            Assert.Equal(_model.KeyEmbedding.AsSpan(sequence[p] * TinyAttentionModel.Width, TinyAttentionModel.Width).ToArray(),
                pool.ReadRow(7 - p / TinyAttentionModel.BlockSize, p % TinyAttentionModel.BlockSize));
    }
}
