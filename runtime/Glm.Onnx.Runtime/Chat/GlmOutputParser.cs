using System.Text;
using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.Runtime.Chat;

/// <summary>
/// Splits the streamed text of a GLM-5.x reply into reasoning, answer and tool calls. Streaming-safe: text is
/// pushed in arbitrary pieces (tags may be cut anywhere), and a trailing fragment that could still become a tag
/// is held back until the next push or <see cref="Finish"/>, so the events do not depend on how the text was
/// split (only delta boundaries do). Tool calls are recognised inside the think block too; a control token that
/// ends the turn (&lt;|user|&gt;, &lt;|observation|&gt;, &lt;|endoftext|&gt;, ...) stops parsing.
/// </summary>
public sealed class GlmOutputParser
{
    private static readonly string[] StopTags =
    [
        GlmSpecialTokens.EndOfText, GlmSpecialTokens.User, GlmSpecialTokens.Observation,
        GlmSpecialTokens.Assistant, GlmSpecialTokens.System,
    ];

    private static readonly string[] TextTags =
        [GlmSpecialTokens.ThinkStart, GlmSpecialTokens.ThinkEnd, GlmSpecialTokens.ToolCallStart, .. StopTags];

    private readonly Dictionary<string, ToolDefinition> _tools;
    private readonly StringBuilder _pending = new();
    private readonly StringBuilder _toolBody = new();
    private Mode _mode;
    private Mode _modeAfterToolCall;

    /// <param name="startInReasoning">True when the prompt ended with "&lt;think&gt;" (thinking on), so the reply starts inside the think block.</param>
    /// <param name="tools">The tools offered in the prompt: their schemas decide which argument values are JSON.</param>
    public GlmOutputParser(bool startInReasoning = true, IEnumerable<ToolDefinition>? tools = null)
    {
        _mode = startInReasoning ? Mode.Reasoning : Mode.Content;
        _tools = (tools ?? []).GroupBy(t => t.Name).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
    }

    /// <summary>True once a turn-ending control token was seen; later text is ignored.</summary>
    public bool IsStopped => _mode == Mode.Stopped;

    private enum Mode
    {
        Reasoning,
        Content,
        ToolCall,
        Stopped,
    }

    public IReadOnlyList<ChatOutputEvent> Push(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var events = new List<ChatOutputEvent>();
        if (_mode == Mode.Stopped)
            return events;
        _pending.Append(text);
        Drain(events, final: false);
        return events;
    }

    /// <summary>Ends the stream: held-back text is emitted, an unclosed tool call is reported as not well formed.</summary>
    public IReadOnlyList<ChatOutputEvent> Finish()
    {
        var events = new List<ChatOutputEvent>();
        Drain(events, final: true);
        if (_mode == Mode.ToolCall)
        {
            events.Add(ToolCallBodyParser.Parse(_toolBody.ToString(), _tools, closed: false));
            _toolBody.Clear();
            _mode = _modeAfterToolCall;
        }

        return events;
    }

    private void Drain(List<ChatOutputEvent> events, bool final)
    {
        while (_pending.Length > 0 && _mode != Mode.Stopped)
        {
            var buffer = _pending.ToString();
            if (_mode == Mode.ToolCall)
            {
                var end = buffer.IndexOf(GlmSpecialTokens.ToolCallEnd, StringComparison.Ordinal);
                if (end < 0)
                {
                    var keep = final ? 0 : PartialTagLength(buffer, [GlmSpecialTokens.ToolCallEnd]);
                    _toolBody.Append(buffer, 0, buffer.Length - keep);
                    _pending.Remove(0, buffer.Length - keep);
                    return;
                }

                _toolBody.Append(buffer, 0, end);
                events.Add(ToolCallBodyParser.Parse(_toolBody.ToString(), _tools, closed: true));
                _toolBody.Clear();
                _pending.Remove(0, end + GlmSpecialTokens.ToolCallEnd.Length);
                _mode = _modeAfterToolCall;
                continue;
            }

            var (index, tag) = FirstTag(buffer);
            if (tag is null)
            {
                var keep = final ? 0 : PartialTagLength(buffer, TextTags);
                Emit(events, buffer[..^keep]);
                _pending.Remove(0, buffer.Length - keep);
                return;
            }

            Emit(events, buffer[..index]);
            _pending.Remove(0, index + tag.Length);
            switch (tag)
            {
                case GlmSpecialTokens.ThinkStart:
                    _mode = Mode.Reasoning;
                    break;
                case GlmSpecialTokens.ThinkEnd:
                    _mode = Mode.Content;
                    break;
                case GlmSpecialTokens.ToolCallStart:
                    _modeAfterToolCall = _mode;
                    _mode = Mode.ToolCall;
                    break;
                default:
                    _mode = Mode.Stopped;
                    _pending.Clear();
                    break;
            }
        }
    }

    private void Emit(List<ChatOutputEvent> events, string text)
    {
        if (text.Length == 0)
            return;
        events.Add(_mode == Mode.Reasoning ? new ReasoningDelta(text) : new ContentDelta(text));
    }

    private static (int Index, string? Tag) FirstTag(string buffer)
    {
        var bestIndex = -1;
        string? bestTag = null;
        foreach (var tag in TextTags)
        {
            var index = buffer.IndexOf(tag, StringComparison.Ordinal);
            if (index >= 0 && (bestIndex < 0 || index < bestIndex))
                (bestIndex, bestTag) = (index, tag);
        }

        return (bestIndex, bestTag);
    }

    // Length of the longest suffix of buffer that is a proper prefix of one of the tags.
    private static int PartialTagLength(string buffer, IReadOnlyList<string> tags)
    {
        var longest = 0;
        foreach (var tag in tags)
        {
            for (var length = Math.Min(tag.Length - 1, buffer.Length); length > longest; length--)
            {
                if (buffer.AsSpan(buffer.Length - length).SequenceEqual(tag.AsSpan(0, length)))
                {
                    longest = length;
                    break;
                }
            }
        }

        return longest;
    }
}
