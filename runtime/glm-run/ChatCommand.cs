using System.CommandLine;
using System.Text;
using System.Text.Json;
using Glm.Onnx.Runtime.Chat;
using Glm.Onnx.Runtime.Chat.Protocol;
using Glm.Onnx.Runtime.ChatClient;
using Glm.Onnx.Runtime.Sampling;
using Glm.Onnx.Server;

namespace Glm.Onnx.RunCli;

/// <summary>
/// <c>glm-run chat --model DIR</c>: an interactive terminal chat (streamed, reasoning dimmed and collapsible, slash
/// commands), or with <c>--input FILE</c> one reply to a conversation given as a chat-completions JSON body, printed
/// as JSON.
/// </summary>
public static class ChatCommand
{
    public static Command Create()
    {
        var model = new ModelArguments();
        var input = new Option<string?>("--input") { Description = "non-interactive: a JSON file shaped like a /v1/chat/completions body ('-' = stdin); prints the reply as JSON" };
        var system = new Option<string?>("--system") { Description = "system prompt" };
        var noThinking = new Option<bool>("--no-thinking") { Description = "start with thinking off" };
        var effort = new Option<string>("--reasoning-effort") { Description = "high or max", DefaultValueFactory = _ => "max" };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "tokens per reply at most (reasoning included)", DefaultValueFactory = _ => 1024 };
        var temperature = new Option<float>("--temperature") { Description = "0 = greedy", DefaultValueFactory = _ => 0f };
        var topP = new Option<float>("--top-p") { DefaultValueFactory = _ => 1f };
        var topK = new Option<int>("--top-k");
        var seed = new Option<ulong?>("--seed");
        var command = new Command("chat", "Chat with the model in the terminal, or answer a conversation JSON")
        {
            input, system, noThinking, effort, maxNew, temperature, topP, topK, seed,
        };
        model.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                var format = GlmChatFormatOptions.Default with
                {
                    EnableThinking = !parse.GetValue(noThinking),
                    ReasoningEffort = ReasoningMapping.ParseTemplateEffort(parse.GetValue(effort)!, "--reasoning-effort"),
                };
                var sampling = new SamplingOptions(parse.GetValue(temperature), parse.GetValue(topK), parse.GetValue(topP), Seed: parse.GetValue(seed));
                sampling.Validate();
                if (parse.GetValue(input) is { } file)
                {
                    var json = file == "-" ? await Console.In.ReadToEndAsync(ct) : await File.ReadAllTextAsync(file, ct);
                    using var loaded = LoadedChatModel.From(model.Load(parse));
                    return await AnswerJsonAsync(loaded.Generator, json, file, parse.GetValue(maxNew), ct);
                }
                using (var loaded = LoadedChatModel.From(model.Load(parse)))
                {
                    var session = new TerminalChat(loaded.Generator, format, sampling, parse.GetValue(maxNew), parse.GetValue(system));
                    await session.RunAsync(Console.In, Console.Out, ct);
                }
                return 0;
            }
            catch (ApiError e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
            catch (Exception e) when (CliErrors.IsExpected(e))
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    private static async Task<int> AnswerJsonAsync(GlmChatGenerator generator, string json, string source, int maxNew, CancellationToken ct)
    {
        JsonElement body;
        try
        {
            using var document = JsonDocument.Parse(json);
            body = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{source}: not valid JSON: {e.Message}");
        }
        if (body.ValueKind != JsonValueKind.Object)
            throw new ArgumentException($"{source}: expected a JSON object with \"messages\" (a /v1/chat/completions body).");
        var request = ChatCompletionRequest.Parse(body, new GlmServerOptions("cli", DefaultMaxTokens: maxNew)).Chat;
        var reasoning = new StringBuilder();
        var content = new StringBuilder();
        var calls = new List<ToolCall>();
        ChatFinished? finished = null;
        await foreach (var e in generator.GenerateAsync(request, ct))
        {
            switch (e)
            {
                case ReasoningDelta r: reasoning.Append(r.Text); break;
                case ContentDelta c: content.Append(c.Text); break;
                case ToolCallEvent t: calls.Add(t.Call); break;
                case ChatFinished f: finished = f; break;
            }
        }
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("role", "assistant");
            w.WriteString("reasoning_content", reasoning.ToString());
            w.WriteString("content", content.ToString());
            w.WriteStartArray("tool_calls");
            foreach (var call in calls)
            {
                w.WriteStartObject();
                w.WriteString("name", call.Name);
                w.WriteString("arguments", call.ArgumentsJson);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteString("finish_reason", FinishReasons.Text(finished!.Reason));
            w.WriteNumber("prompt_tokens", finished.Usage.PromptTokens);
            w.WriteNumber("completion_tokens", finished.Usage.CompletionTokens);
            w.WriteEndObject();
        }
        Console.Out.WriteLine();
        return 0;
    }
}
