using Glm.Onnx.Runtime;
using Glm.Onnx.Runtime.Cache;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Execution;
using Glm.Onnx.Tests.Fakes;

namespace Glm.Onnx.Tests;

/// <summary>
/// GlmModelOptions.IntraOpSpinning (glm-run --spin auto|on|off): explicit settings win; auto spins only with more than
/// one thread, no more threads than usable processors, and that many cores idle (the idle sample is injected here).
/// </summary>
public sealed class SpinningPolicyTests
{
    private static readonly int Processors = Environment.ProcessorCount;

    [Fact]
    public void ExplicitSettingsWinWhateverTheMachine()
    {
        Assert.True(SpinningPolicy.Resolve(IntraOpSpinning.On, 64, () => 0).Spinning);
        Assert.False(SpinningPolicy.Resolve(IntraOpSpinning.Off, 2, () => 64).Spinning);
    }

    [Fact]
    public void AutoSpinsWhenTheThreadsCoresAreIdleAndNotWhenTheyAreBusy()
    {
        if (Processors < 2)
            return; // auto never spins on one processor (the next test covers that case)
        var idle = SpinningPolicy.Resolve(IntraOpSpinning.Auto, 2, () => 2.0);
        Assert.True(idle.Spinning, idle.Reason);
        Assert.Contains("2.00 of", idle.Reason);
        Assert.True(SpinningPolicy.Resolve(IntraOpSpinning.Auto, 2, () => 1.6).Spinning); // our own loading thread
        Assert.False(SpinningPolicy.Resolve(IntraOpSpinning.Auto, 2, () => 1.4).Spinning); // one core busy elsewhere
        Assert.False(SpinningPolicy.Resolve(IntraOpSpinning.Auto, 2, () => 0.0).Spinning);
        Assert.False(SpinningPolicy.Resolve(IntraOpSpinning.Auto, 2, () => null).Spinning); // unknown: do not spin
    }

    [Fact]
    public void AutoNeverSpinsOneThreadOrMoreThreadsThanProcessors()
    {
        Assert.False(SpinningPolicy.Resolve(IntraOpSpinning.Auto, 1, () => 64).Spinning);
        var over = SpinningPolicy.Resolve(IntraOpSpinning.Auto, Processors + 1, () => 1024);
        Assert.False(over.Spinning);
        Assert.Contains("usable processors", over.Reason);
        // 0 threads = one per processor, which auto may spin when they are all idle.
        Assert.Equal(Processors > 1, SpinningPolicy.Resolve(IntraOpSpinning.Auto, 0, () => Processors).Spinning);
    }

    [Fact]
    public void TheIdleSampleIsBetweenNoneAndEveryCore()
    {
        // linux-x64 only, so /proc/stat is always there.
        double? idle = SpinningPolicy.SampleIdleCores();
        Assert.NotNull(idle);
        int cpus = File.ReadLines("/proc/stat").Count(l => l.StartsWith("cpu", StringComparison.Ordinal) && !l.StartsWith("cpu ", StringComparison.Ordinal));
        Assert.InRange(idle.Value, 0, cpus + 0.01);
    }

    [Theory]
    [InlineData(IntraOpSpinning.On)]
    [InlineData(IntraOpSpinning.Off)]
    public async Task EitherSettingLoadsReportsItselfAndGeneratesTheSameTokens(IntraOpSpinning setting)
    {
        using var dir = Fixtures.NewTempDir("rt-spinning");
        new TinyAttentionModel().Write(dir.Path);
        async Task<int[]> Generate(IntraOpSpinning spinning)
        {
            using var model = GlmModel.Load(dir.Path, new GlmModelOptions(Cache: new KvCacheOptions(NumBlocks: 16), IntraOpThreads: 2, IntraOpSpinning: spinning));
            Assert.Equal(spinning == IntraOpSpinning.On, model.Spinning.Spinning);
            using var engine = model.CreateEngine();
            var ids = new List<int>();
            await foreach (var token in engine.GenerateAsync(new GenerationRequest([1, 2, 3, 4, 5]) { MaxNewTokens = 4, IgnoreEos = true }))
                ids.Add(token.TokenId);
            return ids.ToArray();
        }

        Assert.Equal(await Generate(IntraOpSpinning.Off), await Generate(setting));
    }
}
