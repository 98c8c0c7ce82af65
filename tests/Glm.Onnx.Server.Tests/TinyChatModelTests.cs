using System.Text.Json;
using Glm.Onnx.Converter;
using Glm.Onnx.Converter.Conversion;
using Glm.Onnx.Runtime;
using Glm.Onnx.Runtime.ChatClient;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Text;
using Glm.Onnx.Server;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Glm.Onnx.Tests;

/// <summary>
/// The bundled models/glm-tiny-chat (random weights, GLM tokenizer) converted at fp32 and run on ONNX Runtime: the
/// tokenizer comes from the artifacts, text streams through the engine, and chat, IChatClient and the server work
/// with real GLM tokens. Random weights make random text, so these tests check plumbing, not wording.
/// </summary>
public sealed class TinyChatModelTests : IClassFixture<TinyChatModelTests.Converted>
{
    private readonly Converted _converted;

    public TinyChatModelTests(Converted converted) => _converted = converted;

    public sealed class Converted : IDisposable
    {
        private readonly TempDir _dir = Fixtures.NewTempDir("glm-tiny-chat");

        public Converted()
        {
            var source = Path.Combine(Fixtures.RepoRoot, "models", "glm-tiny-chat");
            ModelConverter.Convert(new ConvertOptions(source, Directory) { Precision = TargetPrecision.Fp32 }, SilentProgress.Instance);
        }

        public string Directory => Path.Combine(_dir.Path, "artifacts"); // the converter creates it

        public void Dispose() => _dir.Dispose();
    }

    [Fact]
    public void BundledModelIsSmallAndItsTokenizerHasTheGlmControlTokens()
    {
        var dir = Path.Combine(Fixtures.RepoRoot, "models", "glm-tiny-chat");
        Assert.True(new DirectoryInfo(dir).EnumerateFiles().Sum(f => f.Length) < 2 << 20, "models/glm-tiny-chat must stay under 2 MB");
        var tokenizer = GlmTokenizer.Load(dir);
        foreach (var token in GlmSpecialTokens.All)
            Assert.Equal([GlmSpecialTokens.RequireId(tokenizer, token)], tokenizer.Encode(token));
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "config.json")));
        Assert.Equal(tokenizer.VocabularySize, config.RootElement.GetProperty("vocab_size").GetInt32());
        Assert.Equal(GlmSpecialTokens.StopTokenIds(tokenizer), config.RootElement.GetProperty("eos_token_id").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public async Task EngineStreamsTextThatDecodesTheGeneratedIds()
    {
        using var model = GlmModel.Load(_converted.Directory);
        var tokenizer = Assert.IsType<GlmTokenizer>(model.Tokenizer);
        using var engine = model.CreateEngine();
        var request = new GenerationRequest(tokenizer.Encode("[gMASK]<sop><|user|>Hello<|assistant|>"))
        {
            MaxNewTokens = 24, IgnoreEos = true, Sampling = new Runtime.Sampling.SamplingOptions(Temperature: 1f, Seed: 7),
        };
        var ids = new List<int>();
        var text = new System.Text.StringBuilder();
        await foreach (var token in engine.GenerateAsync(request))
        {
            ids.Add(token.TokenId);
            text.Append(token.TextDelta);
        }
        Assert.Equal(24, ids.Count);
        Assert.Equal(tokenizer.Decode(ids.ToArray()), text.ToString());
    }

    [Fact]
    public async Task ChatClientAndServerRunOverTheRealModel()
    {
        using var loaded = LoadedChatModel.Load(_converted.Directory);
        using var client = new GlmChatClient(loaded.Generator, new GlmChatClientOptions("glm-tiny-chat"));
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Hi")],
            new ChatOptions { MaxOutputTokens = 16, Temperature = 1f, Seed = 3 });
        Assert.InRange((int)response.Usage!.OutputTokenCount!, 1, 16);
        Assert.NotNull(response.FinishReason);

        var (app, addresses) = await GlmServer.StartAsync(loaded.Generator, new GlmServerOptions("glm-tiny-chat", ["http://127.0.0.1:0"]));
        await using (app)
        {
            using var http = new HttpClient { BaseAddress = new Uri(addresses.Single()) };
            foreach (var stream in new[] { false, true })
            {
                var body = $$"""{"model":"glm-tiny-chat","messages":[{"role":"user","content":"Hi"}],"max_tokens":12,"seed":1,"stream":{{(stream ? "true" : "false")}}}""";
                using var reply = await http.PostAsync("/v1/chat/completions", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
                Assert.Equal(200, (int)reply.StatusCode);
                var text = await reply.Content.ReadAsStringAsync();
                if (stream)
                    Assert.EndsWith("data: [DONE]\n\n", text);
                else
                    Assert.InRange(JsonDocument.Parse(text).RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), 1, 12);
            }
            await app.StopAsync();
        }
        Assert.Equal(loaded.Engine.ModelInfo.NumBlocks, loaded.Engine.FreeBlockCount);
    }

    [Fact]
    public async Task DependencyInjectionRegistersTheClientEngineAndGeneratorAndDisposesTheModel()
    {
        var services = new ServiceCollection();
        services.AddGlmChatClient(_converted.Directory, clientOptions: new GlmChatClientOptions("tiny", MaxOutputTokens: 8));
        LoadedChatModel loaded;
        await using (var provider = services.BuildServiceProvider())
        {
            var client = provider.GetRequiredService<IChatClient>();
            loaded = provider.GetRequiredService<LoadedChatModel>();
            Assert.Same(loaded.Engine, provider.GetRequiredService<GenerationEngine>());
            Assert.Same(loaded.Generator, provider.GetRequiredService<GlmChatGenerator>());
            Assert.Same(loaded.Engine, client.GetService<GenerationEngine>());
            var response = await client.GetResponseAsync("Hi");
            Assert.InRange((int)response.Usage!.OutputTokenCount!, 1, 8);
        }
        Assert.Throws<ObjectDisposedException>(() => loaded.Engine.GenerateAsync(new GenerationRequest([1])).GetAsyncEnumerator().MoveNextAsync().AsTask().GetAwaiter().GetResult());
    }
}
