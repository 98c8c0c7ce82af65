using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Glm.Onnx.Runtime.Chat;
using Glm.Onnx.Runtime.Chat.Protocol;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Text;
using Microsoft.Extensions.AI;
using AI = Microsoft.Extensions.AI;

namespace Glm.Onnx.Runtime.ChatClient;

/// <summary>
/// <see cref="IChatClient"/> over a GLM model: reasoning streams as <see cref="TextReasoningContent"/>, answers as
/// <see cref="TextContent"/>, tool calls as <see cref="FunctionCallContent"/> (finish reason ToolCalls), and the last
/// update carries the finish reason and <see cref="UsageContent"/>. Tools are never invoked here; wrap the client in
/// Microsoft.Extensions.AI's function-invoking client for that. <see cref="GetService"/> exposes the engine, the
/// tokenizer, the chat generator and the metadata.
/// </summary>
public sealed class GlmChatClient : IChatClient
{
    private readonly GlmChatClientOptions _options;
    private readonly IDisposable? _owned;
    private readonly ChatClientMetadata _metadata;

    /// <param name="generator">The chat generator (borrowed).</param>
    /// <param name="options">Defaults for calls that do not say.</param>
    /// <param name="owned">Disposed with the client (e.g. the loaded model and engine), or null.</param>
    public GlmChatClient(GlmChatGenerator generator, GlmChatClientOptions? options = null, IDisposable? owned = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        Generator = generator;
        _options = options ?? new GlmChatClientOptions();
        _owned = owned;
        _metadata = new ChatClientMetadata("glm-onnx", null, _options.ModelId);
    }

    public GlmChatGenerator Generator { get; }

    /// <summary>Loads an artifacts directory and returns a client that owns the model and its engine.</summary>
    public static GlmChatClient Load(string modelDirectory, GlmModelOptions? modelOptions = null, GlmChatClientOptions? options = null)
    {
        var loaded = LoadedChatModel.Load(modelDirectory, modelOptions);
        return new GlmChatClient(loaded.Generator, options ?? new GlmChatClientOptions(Path.GetFileName(Path.TrimEndingDirectorySeparator(modelDirectory))), loaded);
    }

    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<AI.ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var reasoning = new StringBuilder();
        var text = new StringBuilder();
        var calls = new List<AIContent>();
        ChatResponseUpdate? last = null;
        string? responseId = null;
        await foreach (var update in GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            responseId ??= update.ResponseId;
            last = update;
            foreach (var content in update.Contents)
            {
                switch (content)
                {
                    case TextReasoningContent r: reasoning.Append(r.Text); break;
                    case TextContent t: text.Append(t.Text); break;
                    case FunctionCallContent c: calls.Add(c); break;
                }
            }
        }
        var contents = new List<AIContent>();
        if (reasoning.Length > 0)
            contents.Add(new TextReasoningContent(reasoning.ToString()));
        if (text.Length > 0)
            contents.Add(new TextContent(text.ToString()));
        contents.AddRange(calls);
        var usage = last?.Contents.OfType<UsageContent>().FirstOrDefault()?.Details;
        return new ChatResponse(new AI.ChatMessage(AI.ChatRole.Assistant, contents) { MessageId = responseId })
        {
            ResponseId = responseId,
            ModelId = _options.ModelId,
            CreatedAt = last?.CreatedAt,
            FinishReason = last?.FinishReason,
            Usage = usage,
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<AI.ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var request = ChatOptionsMapper.ToRequest(messages, options, _options);
        var prepared = Generator.Prepare(request);
        string responseId = ResponseIds.NewChatCompletionId();
        var created = DateTimeOffset.UtcNow;
        int callIndex = 0;
        ChatResponseUpdate Update(AIContent content) => new(AI.ChatRole.Assistant, [content])
        {
            ResponseId = responseId,
            MessageId = responseId,
            ModelId = _options.ModelId,
            CreatedAt = created,
        };

        await foreach (var e in Generator.GenerateAsync(prepared, cancellationToken).ConfigureAwait(false))
        {
            switch (e)
            {
                case ReasoningDelta r:
                    yield return Update(new TextReasoningContent(r.Text));
                    break;
                case ContentDelta c:
                    yield return Update(new TextContent(c.Text));
                    break;
                case ToolCallEvent call:
                    yield return Update(ToFunctionCall(call.Call, ResponseIds.ToolCallId(responseId, callIndex++)));
                    break;
                case ChatFinished finished:
                    var usage = Usage(finished.Usage);
                    var update = Update(new UsageContent(usage));
                    update.FinishReason = new ChatFinishReason(FinishReasons.Text(finished.Reason));
                    yield return update;
                    break;
            }
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
            return null;
        if (serviceType == typeof(ChatClientMetadata))
            return _metadata;
        if (serviceType.IsInstanceOfType(this))
            return this;
        if (serviceType.IsInstanceOfType(Generator))
            return Generator;
        if (serviceType.IsInstanceOfType(Generator.Engine))
            return Generator.Engine;
        if (serviceType.IsInstanceOfType(Generator.Tokenizer))
            return Generator.Tokenizer;
        if (_owned is LoadedChatModel loaded && serviceType.IsInstanceOfType(loaded.Model))
            return loaded.Model;
        return null;
    }

    public void Dispose() => _owned?.Dispose();

    /// <summary>A parsed GLM tool call as a function call whose argument values are JSON elements.</summary>
    public static FunctionCallContent ToFunctionCall(ToolCall call, string callId)
    {
        var arguments = new Dictionary<string, object?>();
        foreach (var (key, value) in call.Arguments)
            arguments[key] = value is null ? null : JsonSerializer.SerializeToElement(value, AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(System.Text.Json.Nodes.JsonNode)));
        return new FunctionCallContent(callId, call.Name, arguments);
    }

    private static UsageDetails Usage(GenerationUsage usage) => new()
    {
        InputTokenCount = usage.PromptTokens,
        OutputTokenCount = usage.CompletionTokens,
        TotalTokenCount = usage.PromptTokens + usage.CompletionTokens,
        CachedInputTokenCount = usage.ReusedPromptTokens,
    };
}
