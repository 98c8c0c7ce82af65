using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Glm.Onnx.Runtime.Chat;
using Glm.Onnx.Runtime.Chat.Protocol;
using Glm.Onnx.Runtime.ChatClient;

namespace Glm.Onnx.Server;

/// <summary>
/// A parsed POST /v1/chat/completions body. Besides OpenAI's fields it takes what the OpenAI-compatible GLM
/// servers take: assistant "reasoning_content", "thinking": {"type": "enabled" | "disabled"} (Z.ai),
/// "chat_template_kwargs": {"enable_thinking", "reasoning_effort", "clear_thinking"} (vLLM / SGLang), and
/// "reasoning_effort" ("none" turns thinking off; "low" / "medium" / "high" map to GLM's High; "max" to Max).
/// <c>glm-run chat --input</c> reads the same JSON. Bad fields throw <see cref="ApiError"/> naming the field.
/// </summary>
public sealed record ChatCompletionRequest(GlmChatRequest Chat, bool Stream, bool IncludeUsage)
{
    public static ChatCompletionRequest Parse(JsonElement body, GlmServerOptions options)
    {
        SamplingParameters.RequireSingleChoice(body);
        RejectUnsupported(body);
        var (stream, usage) = SamplingParameters.Streaming(body);
        var messagesJson = RequestJson.Array(body, "messages") ?? throw ApiError.BadRequest("'messages' is required.", "messages");
        var messages = new List<ChatMessage>();
        int i = 0;
        foreach (var message in messagesJson.EnumerateArray())
            messages.Add(Message(message, i++));
        if (messages.Count == 0)
            throw ApiError.BadRequest("'messages' must hold at least one message.", "messages");

        var offered = Tools(body);
        var choice = ToolChoiceOf(body);
        var (tools, required) = Mapped(() => choice.Apply(offered, "tool_choice"), "tool_choice");

        var sampling = SamplingParameters.Read(body);
        var request = new GlmChatRequest(messages)
        {
            Tools = tools,
            RequiredTool = required,
            Format = Format(body),
            Sampling = sampling,
            SpeculativeTokens = SamplingParameters.SpeculativeTokens(body, options.SpeculativeTokens),
            MaxNewTokens = SamplingParameters.MaxTokens(body, options.DefaultMaxTokens),
            StopStrings = RequestJson.StopStrings(body),
            ResponseFormat = ResponseFormatField.Read(body),
            GrammarCompileTimeout = options.GrammarCompileTimeout,
        };
        return new ChatCompletionRequest(request, stream, usage);
    }

    // Fields that would change the answer's shape are refused rather than silently ignored.
    private static void RejectUnsupported(JsonElement body)
    {
        if (RequestJson.Bool(body, "logprobs") == true)
            throw ApiError.BadRequest("'logprobs' is not supported by this server.", "logprobs");
        if (RequestJson.Field(body, "top_logprobs") is not null)
            throw ApiError.BadRequest("'top_logprobs' is not supported by this server.", "top_logprobs");
    }

    // "tool_choice": "none", "auto", "required" or {"type": "function", "function": {"name": ...}}.
    private static ToolChoice ToolChoiceOf(JsonElement body)
    {
        switch (RequestJson.Field(body, "tool_choice"))
        {
            case null:
                return ToolChoice.Auto;
            case { ValueKind: JsonValueKind.String } choice when choice.GetString() == "none":
                return ToolChoice.None;
            case { ValueKind: JsonValueKind.String } choice when choice.GetString() == "auto":
                return ToolChoice.Auto;
            case { ValueKind: JsonValueKind.String } choice when choice.GetString() == "required":
                return ToolChoice.RequiredAny;
            case { ValueKind: JsonValueKind.Object } choice:
                var function = RequestJson.Object(choice, "function", "tool_choice.function")
                    ?? throw ApiError.BadRequest("'tool_choice.function' is required.", "tool_choice");
                return ToolChoice.Function(RequestJson.RequireString(function, "name", "tool_choice.function.name"));
            case { } other:
                throw ApiError.BadRequest(
                    $"'tool_choice' must be \"none\", \"auto\", \"required\" or {{\"type\": \"function\", \"function\": {{\"name\": ...}}}}, got {other.GetRawText()}.",
                    "tool_choice");
        }
    }

    // The reasoning fields as read from JSON; ReasoningMapping decides what they do to the template.
    private static GlmChatFormatOptions Format(JsonElement body)
    {
        ReasoningLevel? level = RequestJson.String(body, "reasoning_effort") is { } effort
            ? Mapped(() => ReasoningMapping.ParseLevel(effort, "reasoning_effort"), "reasoning_effort")
            : null;
        bool? enable = null, clear = null;
        GlmReasoningEffort? templateEffort = null;
        if (RequestJson.Object(body, "thinking") is { } thinking)
        {
            enable = RequestJson.String(thinking, "type", "thinking.type") switch
            {
                "enabled" => true,
                "disabled" => false,
                var other => throw ApiError.BadRequest($"'thinking.type' must be \"enabled\" or \"disabled\", got \"{other}\".", "thinking.type"),
            };
        }
        if (RequestJson.Object(body, "chat_template_kwargs") is { } kwargs)
        {
            enable = RequestJson.Bool(kwargs, "enable_thinking", "chat_template_kwargs.enable_thinking") ?? enable;
            clear = RequestJson.Bool(kwargs, "clear_thinking", "chat_template_kwargs.clear_thinking");
            const string effortField = "chat_template_kwargs.reasoning_effort";
            if (RequestJson.String(kwargs, "reasoning_effort", effortField) is { } text)
                templateEffort = Mapped(() => ReasoningMapping.ParseTemplateEffort(text, effortField), effortField);
        }
        return ReasoningMapping.Apply(GlmChatFormatOptions.Default, level, enable, clear, templateEffort);
    }

    private static T Mapped<T>(Func<T> map, string field)
    {
        try
        {
            return map();
        }
        catch (ArgumentException e)
        {
            throw ApiError.BadRequest(e.Message, field);
        }
    }

    private static List<ToolDefinition> Tools(JsonElement body)
    {
        var tools = new List<ToolDefinition>();
        if (RequestJson.Array(body, "tools") is not { } array)
            return tools;
        int i = 0;
        foreach (var tool in array.EnumerateArray())
        {
            string path = $"tools[{i++}]";
            if (tool.ValueKind != JsonValueKind.Object)
                throw RequestJson.TypeError(path, "an object", tool);
            var type = RequestJson.String(tool, "type", path + ".type") ?? "function";
            if (type != "function")
                throw ApiError.BadRequest($"'{path}.type' must be \"function\", got \"{type}\".", path + ".type");
            var function = RequestJson.Object(tool, "function", path + ".function")
                ?? throw ApiError.BadRequest($"'{path}.function' is required.", path + ".function");
            var name = RequestJson.RequireString(function, "name", path + ".function.name");
            if (name.Length == 0)
                throw ApiError.BadRequest($"'{path}.function.name' must not be empty.", path + ".function.name");
            var parameters = RequestJson.Object(function, "parameters", path + ".function.parameters");
            tools.Add(new ToolDefinition(name, RequestJson.String(function, "description", path + ".function.description"),
                parameters is { } p ? (JsonObject)JsonNode.Parse(p.GetRawText())! : null)
            {
                Strict = RequestJson.Bool(function, "strict", path + ".function.strict") ?? false,
            });
        }
        return tools;
    }

    private static ChatMessage Message(JsonElement message, int index)
    {
        string path = $"messages[{index}]";
        if (message.ValueKind != JsonValueKind.Object)
            throw RequestJson.TypeError(path, "an object", message);
        var role = RequestJson.RequireString(message, "role", path + ".role");
        var content = Content(message, path);
        switch (role)
        {
            case "system" or "developer":
                return ChatMessage.System(content);
            case "user":
                return ChatMessage.User(content);
            case "tool":
                return ChatMessage.ToolResult(content);
            case "assistant":
                var calls = new List<ToolCall>();
                if (RequestJson.Array(message, "tool_calls", path + ".tool_calls") is { } array)
                {
                    int c = 0;
                    foreach (var call in array.EnumerateArray())
                        calls.Add(ToolCallOf(call, $"{path}.tool_calls[{c++}]"));
                }
                return new ChatMessage(ChatRole.Assistant, content)
                {
                    ReasoningContent = RequestJson.String(message, "reasoning_content", path + ".reasoning_content"),
                    ToolCalls = calls,
                };
            default:
                throw ApiError.BadRequest($"'{path}.role' must be system, developer, user, assistant or tool, got \"{role}\".", path + ".role");
        }
    }

    // content: a string, null (assistant with tool calls), or an array of {"type": "text", "text": ...} parts.
    private static string Content(JsonElement message, string path)
    {
        switch (RequestJson.Field(message, "content"))
        {
            case null:
                return "";
            case { ValueKind: JsonValueKind.String } text:
                return text.GetString()!;
            case { ValueKind: JsonValueKind.Array } parts:
                var sb = new StringBuilder();
                int i = 0;
                foreach (var part in parts.EnumerateArray())
                {
                    string partPath = $"{path}.content[{i++}]";
                    if (part.ValueKind != JsonValueKind.Object)
                        throw RequestJson.TypeError(partPath, "an object", part);
                    var type = RequestJson.RequireString(part, "type", partPath + ".type");
                    if (type != "text")
                        throw ApiError.BadRequest($"'{partPath}.type' is \"{type}\"; this model takes text parts only.", partPath + ".type");
                    sb.Append(RequestJson.RequireString(part, "text", partPath + ".text"));
                }
                return sb.ToString();
            case { } other:
                throw RequestJson.TypeError(path + ".content", "a string or an array of text parts", other);
        }
    }

    private static ToolCall ToolCallOf(JsonElement call, string path)
    {
        if (call.ValueKind != JsonValueKind.Object)
            throw RequestJson.TypeError(path, "an object", call);
        var function = RequestJson.Object(call, "function", path + ".function")
            ?? throw ApiError.BadRequest($"'{path}.function' is required.", path + ".function");
        var name = RequestJson.RequireString(function, "name", path + ".function.name");
        JsonObject arguments = new();
        switch (RequestJson.Field(function, "arguments"))
        {
            case null:
                break;
            case { ValueKind: JsonValueKind.String } text:
                try
                {
                    arguments = JsonNode.Parse(text.GetString()!.Length == 0 ? "{}" : text.GetString()!) as JsonObject
                        ?? throw ApiError.BadRequest($"'{path}.function.arguments' must encode a JSON object.", path + ".function.arguments");
                }
                catch (JsonException e)
                {
                    throw ApiError.BadRequest($"'{path}.function.arguments' is not valid JSON: {e.Message}", path + ".function.arguments");
                }
                break;
            case { ValueKind: JsonValueKind.Object } obj:
                arguments = (JsonObject)JsonNode.Parse(obj.GetRawText())!;
                break;
            case { } other:
                throw RequestJson.TypeError(path + ".function.arguments", "a JSON string", other);
        }
        return new ToolCall(name, arguments);
    }
}
