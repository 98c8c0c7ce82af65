using System.Text.Json;
using Glm.Onnx.Runtime;
using Glm.Onnx.Runtime.Cache;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Tests.Fakes;

namespace Glm.Onnx.Tests;

/// <summary>
/// GlmModelOptions.ProfilePrefix: ONNX Runtime writes one profile per stage under the prefix, holding one
/// model_run event per engine step (what scripts/bench-decode.sh summarises).
/// </summary>
public sealed class OrtProfilingTests : IDisposable
{
    private readonly TempDir _dir = Fixtures.NewTempDir("rt-profile");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task ProfilingWritesOneModelRunEventPerStepUnderThePrefix()
    {
        new TinyAttentionModel().Write(_dir.Path);
        var prefix = _dir.File("prof");
        using var model = GlmModel.Load(_dir.Path, new GlmModelOptions(Cache: new KvCacheOptions(NumBlocks: 16), IntraOpThreads: 1, ProfilePrefix: prefix));
        long steps;
        using (var engine = model.CreateEngine())
        {
            await foreach (var _ in engine.GenerateAsync(new GenerationRequest([1, 2, 3, 4, 5]) { MaxNewTokens = 3, IgnoreEos = true }))
            {
            }
            steps = engine.StepCount;
        }
        var files = model.EndProfiling();
        var file = Assert.Single(files);
        Assert.StartsWith(prefix + ".stage0", file);
        using var doc = JsonDocument.Parse(File.ReadAllText(file));
        int runs = doc.RootElement.EnumerateArray().Count(e => e.GetProperty("name").GetString() == "model_run");
        Assert.Equal(3, steps); // one prefill step, two decode steps
        Assert.Equal(steps, runs);
    }

    [Fact]
    public void WithoutAPrefixNothingIsProfiled()
    {
        new TinyAttentionModel().Write(_dir.Path);
        using var model = GlmModel.Load(_dir.Path, new GlmModelOptions(Cache: new KvCacheOptions(NumBlocks: 16), IntraOpThreads: 1));
        Assert.Empty(model.EndProfiling());
    }
}
