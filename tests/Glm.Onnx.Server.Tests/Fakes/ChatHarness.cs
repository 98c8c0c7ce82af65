using Glm.Onnx.Checkpoint;
using Glm.Onnx.Runtime.ChatClient;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Scheduling;
using Glm.Onnx.Runtime.Telemetry;
using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.Tests.Fakes;

/// <summary>
/// A chat stack over the scripted executor with real tokens: the tiny GLM tokenizer (GLM control tokens included),
/// the engine decoding with it, and the chat generator.
/// </summary>
public sealed class ChatHarness : IDisposable
{
    private static readonly Lazy<GlmTokenizer> SharedTokenizer = new(() =>
    {
        using var dir = Fixtures.NewTempDir("glm-tiny-tok");
        TinyGlmTokenizer.Write(dir.Path);
        return GlmTokenizer.Load(dir.Path);
    });

    public ChatHarness(Func<ChatScripts, Func<IReadOnlyList<int>, int>> policy, int numBlocks = 2048, int maxSequenceLength = 4096,
        SchedulerOptions? scheduling = null, EngineTelemetryOptions? telemetry = null, bool scriptDrafts = false)
    {
        Tokenizer = SharedTokenizer.Value;
        Scripts = new ChatScripts(Tokenizer);
        var next = policy(Scripts);
        Executor = new ScriptedExecutor(Tokenizer.VocabularySize, next,
            [Scripts.Id(GlmSpecialTokens.EndOfText)], numBlocks: numBlocks, maxSequenceLength: maxSequenceLength);
        // scriptDrafts: the engine can speculate, with a ScriptDrafter (right drafts but the third of each step).
        Engine = new GenerationEngine(Executor, scheduling, new GlmTokenDecoder(Tokenizer), telemetry,
            scriptDrafts ? new ScriptDrafter(next, Tokenizer.VocabularySize) : null);
        Generator = new GlmChatGenerator(Engine, Tokenizer);
    }

    public GlmTokenizer Tokenizer { get; }

    public ChatScripts Scripts { get; }

    public ScriptedExecutor Executor { get; }

    public GenerationEngine Engine { get; }

    public GlmChatGenerator Generator { get; }

    public int TotalBlocks => Executor.Info.NumBlocks;

    public void Dispose()
    {
        Engine.Dispose();
        Executor.Dispose();
    }
}
