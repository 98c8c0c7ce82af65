using System.Text;
using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.Runtime.Chat;

/// <summary>
/// A rendered chat prompt: its text and where in it the messages' content (and tool definitions, names and
/// arguments) lies. Encode it with <see cref="Encode"/> so that only the template's own markup yields control
/// tokens: a "&lt;|assistant|&gt;" or "&lt;tool_call&gt;" typed by a user or returned by a tool stays text and cannot
/// forge a turn or a tool call.
/// </summary>
public sealed record GlmChatPrompt(string Text, IReadOnlyList<LiteralSpan> ContentSpans)
{
    public int[] Encode(GlmTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return tokenizer.Encode(Text, ContentSpans, addSpecialTokens: false);
    }

    /// <summary>Builds a prompt from markup (trusted) and content (untrusted) pieces.</summary>
    internal sealed class Builder
    {
        private readonly StringBuilder _text = new();
        private readonly List<LiteralSpan> _content = [];

        public Builder Markup(string text)
        {
            _text.Append(text);
            return this;
        }

        public Builder Content(string? text)
        {
            if (string.IsNullOrEmpty(text))
                return this;
            // Adjacent content pieces merge into one span, keeping the list short and sorted.
            if (_content.Count > 0 && _content[^1].End == _text.Length)
                _content[^1] = _content[^1] with { Length = _content[^1].Length + text.Length };
            else
                _content.Add(new LiteralSpan(_text.Length, text.Length));
            _text.Append(text);
            return this;
        }

        public GlmChatPrompt Build() => new(_text.ToString(), [.. _content]);
    }
}
