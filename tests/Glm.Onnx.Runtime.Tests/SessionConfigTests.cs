using Glm.Onnx.Runtime;
using Glm.Onnx.Runtime.Cache;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Tests.Fakes;

namespace Glm.Onnx.Tests;

/// <summary>
/// GlmModelOptions.SessionConfig (glm-run --ort-config): the entries reach every stage session's ONNX Runtime options.
/// </summary>
public sealed class SessionConfigTests : IDisposable
{
    private readonly TempDir _dir = Fixtures.NewTempDir("rt-session-config");

    public SessionConfigTests() => new TinyAttentionModel().Write(_dir.Path);

    public void Dispose() => _dir.Dispose();

    private GlmModel Load(Dictionary<string, string>? config) =>
        GlmModel.Load(_dir.Path, new GlmModelOptions(Cache: new KvCacheOptions(NumBlocks: 16), IntraOpThreads: 1, SessionConfig: config));

    [Fact]
    public void AMalformedValueIsRejectedWhenTheStageLoadsNamingTheStage()
    {
        // ONNX Runtime parses session.dynamic_block_base as an integer when it builds the session: if the entry did
        // not reach it, the load would succeed.
        var e = Assert.Throws<InvalidDataException>(() => Load(new() { ["session.dynamic_block_base"] = "not-a-number" }).Dispose());
        Assert.Contains("Stage 0", e.Message);
    }

    [Fact]
    public async Task ValidEntriesLoadAndGenerateTheSameTokens()
    {
        async Task<int[]> Generate(Dictionary<string, string>? config)
        {
            using var model = Load(config);
            using var engine = model.CreateEngine();
            var ids = new List<int>();
            await foreach (var token in engine.GenerateAsync(new GenerationRequest([1, 2, 3, 4, 5]) { MaxNewTokens = 4, IgnoreEos = true }))
                ids.Add(token.TokenId);
            return ids.ToArray();
        }

        var plain = await Generate(null);
        var configured = await Generate(new() { ["session.dynamic_block_base"] = "4", ["session.intra_op.allow_spinning"] = "1" });
        Assert.Equal(4, plain.Length);
        Assert.Equal(plain, configured);
    }
}
