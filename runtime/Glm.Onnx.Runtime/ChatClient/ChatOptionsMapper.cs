using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Glm.Onnx.Runtime.Chat;
using Glm.Onnx.Runtime.Chat.Protocol;
using Glm.Onnx.Runtime.Constraints;
using Glm.Onnx.Runtime.Sampling;
using Microsoft.Extensions.AI;
using AI = Microsoft.Extensions.AI;
using G = Glm.Onnx.Runtime.Chat;

namespace Glm.Onnx.Runtime.ChatClient;

/// <summary>
/// Maps Microsoft.Extensions.AI messages and <see cref="ChatOptions"/> to a <see cref="GlmChatRequest"/>. Options:
/// temperature, top-p, top-k, frequency / presence penalty, seed, max output tokens, stop sequences, tools and tool
/// mode (<see cref="ToolChoice"/>), strict functions (<see cref="StrictProperty"/>), reasoning effort (ExtraHigh is Max; <see cref="ReasoningMapping"/> maps it as the
/// server does), and the GLM template kwargs as additional properties: "enable_thinking" (bool), "reasoning_effort"
/// ("high" / "max"), "clear_thinking" (bool).
/// </summary>
public static class ChatOptionsMapper
{
    public const string EnableThinkingProperty = "enable_thinking";
    public const string ReasoningEffortProperty = "reasoning_effort";
    public const string ClearThinkingProperty = "clear_thinking";

    /// <summary>
    /// Marks a function strict (OpenAI's <c>strict: true</c>: its calls follow its parameter schema, also under
    /// tool_choice auto): a bool under this key in the function's <see cref="AITool.AdditionalProperties"/> (e.g. via
    /// <see cref="AIFunctionFactoryOptions.AdditionalProperties"/>), or in <see cref="ChatOptions.AdditionalProperties"/>
    /// for every function that does not say. The key Microsoft.Extensions.AI.OpenAI reads for the same purpose, so a
    /// tool set up for OpenAI means the same here.
    /// </summary>
    public const string StrictProperty = "strictJsonSchema";

    // The AI defaults indent; a tool result goes into the prompt as compact JSON, as json.dumps-style servers send it.
    private static readonly JsonSerializerOptions CompactJson = new(AIJsonUtilities.DefaultOptions) { WriteIndented = false };

    public static GlmChatRequest ToRequest(IEnumerable<AI.ChatMessage> messages, ChatOptions? options, GlmChatClientOptions defaults)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var glm = new List<G.ChatMessage>();
        if (options?.Instructions is { Length: > 0 } instructions)
            glm.Add(G.ChatMessage.System(instructions));
        int index = 0;
        foreach (var message in messages)
            AddMessage(glm, message ?? throw new ArgumentException($"messages[{index}] is null."), index++);

        var tools = new List<ToolDefinition>();
        bool strictByDefault = StrictFlag(options?.AdditionalProperties, $"ChatOptions.AdditionalProperties[\"{StrictProperty}\"]") ?? false;
        foreach (var tool in options?.Tools ?? [])
            tools.Add(tool is AIFunctionDeclaration function
                ? ToToolDefinition(function) with
                {
                    Strict = StrictFlag(function.AdditionalProperties, $"tool '{function.Name}' AdditionalProperties[\"{StrictProperty}\"]") ?? strictByDefault,
                }
                : throw new NotSupportedException($"Tool '{tool.Name}' is a {tool.GetType().Name}; GLM models take function tools only."));

        var (offered, required) = ToolChoiceOf(options?.ToolMode).Apply(tools, "ChatOptions.ToolMode");

        return new GlmChatRequest(glm)
        {
            Tools = offered,
            RequiredTool = required,
            Format = FormatOptions(options, defaults.Format ?? GlmChatFormatOptions.Default),
            Sampling = Sampling(options),
            MaxNewTokens = options?.MaxOutputTokens ?? defaults.MaxOutputTokens,
            StopStrings = options?.StopSequences is { Count: > 0 } stops ? [.. stops] : [],
            ResponseFormat = ResponseFormat(options?.ResponseFormat),
        };
    }

    // ChatResponseFormat.Json is JSON mode (any object) unless it carries a schema; Text is free text.
    private static StructuredOutput? ResponseFormat(ChatResponseFormat? format) => format switch
    {
        ChatResponseFormatJson { Schema: { } schema } => StructuredOutput.ForJsonSchema(schema.GetRawText()),
        ChatResponseFormatJson => StructuredOutput.JsonObject,
        _ => null,
    };

    public static SamplingOptions Sampling(ChatOptions? options)
    {
        if (options is null)
            return SamplingOptions.Greedy;
        return new SamplingOptions(
            Temperature: options.Temperature ?? 0f,
            TopK: options.TopK ?? 0,
            TopP: options.TopP ?? 1f,
            PresencePenalty: options.PresencePenalty ?? 0f,
            FrequencyPenalty: options.FrequencyPenalty ?? 0f,
            Seed: options.Seed is { } seed ? unchecked((ulong)seed) : null);
    }

    public static GlmChatFormatOptions FormatOptions(ChatOptions? options, GlmChatFormatOptions defaults)
    {
        ReasoningLevel? level = options?.Reasoning?.Effort switch
        {
            null => null,
            ReasoningEffort.None => ReasoningLevel.None,
            ReasoningEffort.Low => ReasoningLevel.Low,
            ReasoningEffort.Medium => ReasoningLevel.Medium,
            ReasoningEffort.ExtraHigh => ReasoningLevel.Max,
            _ => ReasoningLevel.High, // High, and levels newer than this mapping: thinking on at GLM's "High"
        };
        var extra = options?.AdditionalProperties;
        bool? enable = null, clear = null;
        GlmReasoningEffort? effort = null;
        if (extra is not null)
        {
            if (extra.TryGetValue(EnableThinkingProperty, out var thinking) && thinking is not null)
                enable = ToBool(thinking, EnableThinkingProperty);
            if (extra.TryGetValue(ClearThinkingProperty, out var clearing) && clearing is not null)
                clear = ToBool(clearing, ClearThinkingProperty);
            if (extra.TryGetValue(ReasoningEffortProperty, out var kwarg) && kwarg is not null)
                effort = ReasoningMapping.ParseTemplateEffort(ToText(kwarg), ReasoningEffortProperty);
        }
        return ReasoningMapping.Apply(defaults, level, enable, clear, effort);
    }

    // The strict flag under StrictProperty, null when absent; anything but a boolean is an error naming where it was.
    private static bool? StrictFlag(IEnumerable<KeyValuePair<string, object?>>? properties, string where)
    {
        foreach (var (key, value) in properties ?? [])
            if (key == StrictProperty && value is not null)
                return ToBool(value, where);
        return null;
    }

    /// <summary>Microsoft.Extensions.AI's tool mode as the protocol's tool choice (no mode: auto).</summary>
    public static ToolChoice ToolChoiceOf(ChatToolMode? mode) => mode switch
    {
        NoneChatToolMode => ToolChoice.None,
        RequiredChatToolMode { RequiredFunctionName: { } name } => ToolChoice.Function(name),
        RequiredChatToolMode => ToolChoice.RequiredAny,
        _ => ToolChoice.Auto,
    };

    /// <summary>A function tool's name, description and JSON-schema parameters.</summary>
    public static ToolDefinition ToToolDefinition(AIFunctionDeclaration function)
    {
        JsonObject? parameters = null;
        if (function.JsonSchema.ValueKind == JsonValueKind.Object)
            parameters = JsonNode.Parse(function.JsonSchema.GetRawText()) as JsonObject;
        return new ToolDefinition(function.Name, string.IsNullOrEmpty(function.Description) ? null : function.Description, parameters);
    }

    /// <summary>A tool call's arguments as JSON (each value serialised with the AI JSON defaults).</summary>
    public static JsonObject ToJsonArguments(IDictionary<string, object?>? arguments)
    {
        var json = new JsonObject();
        foreach (var (key, value) in arguments ?? new Dictionary<string, object?>())
            json[key] = value is null ? null : JsonSerializer.SerializeToNode(value, AIJsonUtilities.DefaultOptions.GetTypeInfo(value.GetType()));
        return json;
    }

    /// <summary>A tool result as the text GLM sees: strings raw, everything else as JSON.</summary>
    public static string ResultText(object? result) => result switch
    {
        null => "",
        string text => text,
        JsonElement { ValueKind: JsonValueKind.String } element => element.GetString()!,
        JsonElement element => element.GetRawText(),
        JsonNode node => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : node.ToJsonString(),
        _ => JsonSerializer.Serialize(result, CompactJson.GetTypeInfo(result.GetType())),
    };

    private static void AddMessage(List<G.ChatMessage> glm, AI.ChatMessage message, int index)
    {
        var text = new System.Text.StringBuilder();
        var reasoning = new System.Text.StringBuilder();
        var calls = new List<ToolCall>();
        var results = new List<string>();
        foreach (var content in message.Contents)
        {
            switch (content)
            {
                case TextReasoningContent r:
                    reasoning.Append(r.Text);
                    break;
                case TextContent t:
                    text.Append(t.Text);
                    break;
                case FunctionCallContent call:
                    calls.Add(new ToolCall(call.Name, ToJsonArguments(call.Arguments)));
                    break;
                case FunctionResultContent result:
                    results.Add(ResultText(result.Result));
                    break;
                case UsageContent:
                    break;
                default:
                    throw new NotSupportedException(
                        $"messages[{index}] has {content.GetType().Name} content; GLM models take text, reasoning, function calls and function results.");
            }
        }

        var role = message.Role;
        if (role == AI.ChatRole.Tool || results.Count > 0)
        {
            if (results.Count == 0)
                results.Add(text.ToString()); // a tool message given as plain text
            foreach (var result in results)
                glm.Add(G.ChatMessage.ToolResult(result));
            return;
        }
        if (role == AI.ChatRole.System)
            glm.Add(G.ChatMessage.System(text.ToString()));
        else if (role == AI.ChatRole.User)
            glm.Add(G.ChatMessage.User(text.ToString()));
        else if (role == AI.ChatRole.Assistant)
            glm.Add(new G.ChatMessage(G.ChatRole.Assistant, text.ToString())
            {
                ReasoningContent = reasoning.Length > 0 ? reasoning.ToString() : null,
                ToolCalls = calls,
            });
        else
            throw new ArgumentException($"messages[{index}] has role '{role.Value}'; expected system, user, assistant or tool.");
    }

    private static bool ToBool(object value, string what) => value switch
    {
        bool b => b,
        JsonElement { ValueKind: JsonValueKind.True } => true,
        JsonElement { ValueKind: JsonValueKind.False } => false,
        string s when bool.TryParse(s, out var parsed) => parsed,
        _ => throw new ArgumentException($"{what} must be a boolean, got {Convert.ToString(value, CultureInfo.InvariantCulture)}."),
    };

    private static string ToText(object value) => value switch
    {
        JsonElement { ValueKind: JsonValueKind.String } element => element.GetString()!,
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };
}
