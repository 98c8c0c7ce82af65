using Glm.Onnx.Runtime.Engine;

namespace Glm.Onnx.Runtime.Text;

/// <summary>
/// The engine's <see cref="ITokenDecoder"/> over a <see cref="GlmTokenizer"/>: every request gets its own
/// <see cref="IncrementalDetokenizer"/>, so text deltas never split a UTF-8 character. Control tokens are kept by
/// default because the chat output parser needs to see &lt;think&gt;, &lt;tool_call&gt; and the turn-ending tokens.
/// </summary>
public sealed class GlmTokenDecoder : ITokenDecoder
{
    private readonly bool _skipSpecialTokens;

    public GlmTokenDecoder(GlmTokenizer tokenizer, bool skipSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        Tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
    }

    public GlmTokenizer Tokenizer { get; }

    public ITokenTextStream CreateStream() => new Stream(new IncrementalDetokenizer(Tokenizer, _skipSpecialTokens));

    private sealed class Stream(IncrementalDetokenizer detokenizer) : ITokenTextStream
    {
        public string Append(int tokenId) => detokenizer.Push(tokenId);

        public string Flush() => detokenizer.Flush();
    }
}
