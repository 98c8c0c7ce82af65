using System.Text;
using Glm.Onnx.Runtime.Chat;
using Glm.Onnx.Runtime.Chat.Protocol;
using Glm.Onnx.Runtime.ChatClient;
using Glm.Onnx.Runtime.Sampling;

namespace Glm.Onnx.RunCli;

/// <summary>
/// The interactive loop of <c>glm-run chat</c>: streams each reply, reasoning dimmed (ANSI faint, unless output is
/// redirected or NO_COLOR is set) or collapsed to a one-line summary, and keeps the conversation between turns.
/// </summary>
internal sealed class TerminalChat(GlmChatGenerator generator, GlmChatFormatOptions format, SamplingOptions sampling, int maxNewTokens, string? system)
{
    private const string Dim = "\u001b[2m";
    private const string Reset = "\u001b[0m";
    private const string Help =
        "commands: /reset (forget the conversation)  /system TEXT (set the system prompt; empty clears)  " +
        "/think on|off  /effort high|max  /reasoning (collapse or expand reasoning)  /last (print the last reasoning)  /quit";

    private readonly List<ChatMessage> _history = [];
    private readonly bool _color = !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null;
    private GlmChatFormatOptions _format = format;
    private string? _system = system;
    private bool _expanded = true;
    private string _lastReasoning = "";

    public async Task RunAsync(TextReader input, TextWriter output, CancellationToken cancellationToken)
    {
        output.WriteLine($"GLM chat. Thinking {(_format.EnableThinking ? "on" : "off")}. {Help}");
        while (!cancellationToken.IsCancellationRequested)
        {
            output.Write("> ");
            output.Flush();
            var line = await input.ReadLineAsync(cancellationToken);
            if (line is null)
                break;
            if (line.Trim().Length == 0)
                continue;
            if (line.StartsWith('/'))
            {
                if (!Command(line.Trim(), output))
                    break;
                continue;
            }
            _history.Add(ChatMessage.User(line));
            await ReplyAsync(output, cancellationToken);
        }
    }

    // Returns false to quit.
    private bool Command(string line, TextWriter output)
    {
        var space = line.IndexOf(' ');
        var name = space < 0 ? line : line[..space];
        var argument = space < 0 ? "" : line[(space + 1)..].Trim();
        switch (name)
        {
            case "/quit" or "/exit":
                return false;
            case "/reset":
                _history.Clear();
                output.WriteLine("(conversation cleared)");
                break;
            case "/system":
                _system = argument.Length > 0 ? argument : null;
                output.WriteLine(_system is null ? "(system prompt cleared)" : "(system prompt set)");
                break;
            case "/think" when argument is "on" or "off":
                _format = _format with { EnableThinking = argument == "on" };
                output.WriteLine($"(thinking {argument})");
                break;
            case "/effort" when argument is "high" or "max":
                _format = _format with { ReasoningEffort = argument == "high" ? GlmReasoningEffort.High : GlmReasoningEffort.Max };
                output.WriteLine($"(reasoning effort {argument})");
                break;
            case "/reasoning":
                _expanded = !_expanded;
                output.WriteLine(_expanded ? "(reasoning shown)" : "(reasoning collapsed; /last prints it)");
                break;
            case "/last":
                output.WriteLine(Faint(_lastReasoning.Length > 0 ? _lastReasoning : "(no reasoning yet)"));
                break;
            default:
                output.WriteLine(Help);
                break;
        }
        return true;
    }

    private async Task ReplyAsync(TextWriter output, CancellationToken cancellationToken)
    {
        var messages = new List<ChatMessage>();
        if (_system is not null)
            messages.Add(ChatMessage.System(_system));
        messages.AddRange(_history);
        var request = new GlmChatRequest(messages) { Format = _format, Sampling = sampling, MaxNewTokens = maxNewTokens };
        var reasoning = new StringBuilder();
        var content = new StringBuilder();
        var calls = new List<ToolCall>();
        bool inReasoning = false;
        try
        {
            await foreach (var e in generator.GenerateAsync(request, cancellationToken))
            {
                switch (e)
                {
                    case ReasoningDelta r:
                        if (!inReasoning)
                        {
                            output.Write(_expanded ? (_color ? Dim + "thinking: " : "thinking: ") : Faint("[thinking...]"));
                            inReasoning = true;
                        }
                        reasoning.Append(r.Text);
                        if (_expanded)
                            output.Write(r.Text);
                        break;
                    case ContentDelta c:
                        EndReasoning(output, ref inReasoning, reasoning.Length);
                        content.Append(c.Text);
                        output.Write(c.Text);
                        break;
                    case ToolCallEvent t:
                        EndReasoning(output, ref inReasoning, reasoning.Length);
                        calls.Add(t.Call);
                        output.Write($"\n[tool call] {t.Call.Name}({t.Call.ArgumentsJson})");
                        break;
                    case ChatFinished f:
                        EndReasoning(output, ref inReasoning, reasoning.Length);
                        if (f.Reason == GlmChatFinishReason.Length)
                            output.Write(Faint(" [stopped: token limit]"));
                        output.WriteLine();
                        output.WriteLine(Faint($"({f.Usage.PromptTokens} prompt + {f.Usage.CompletionTokens} generated tokens, {f.Usage.DecodeTokensPerSecond:F1} tok/s)"));
                        break;
                }
                output.Flush();
            }
        }
        catch (ContextLengthExceededException e)
        {
            _history.RemoveAt(_history.Count - 1);
            output.WriteLine($"error: {e.Message} (/reset starts over)");
            return;
        }
        _lastReasoning = reasoning.ToString();
        _history.Add(ChatMessage.Assistant(content.ToString(), _lastReasoning.Length > 0 ? _lastReasoning : null, [.. calls]));
    }

    private void EndReasoning(TextWriter output, ref bool inReasoning, int chars)
    {
        if (!inReasoning)
            return;
        inReasoning = false;
        if (_expanded)
            output.Write(_color ? Reset + "\n" : "\n");
        else
            output.Write(Faint($" ({chars} chars; /last shows it)") + "\n");
    }

    private string Faint(string text) => _color ? Dim + text + Reset : text;
}
