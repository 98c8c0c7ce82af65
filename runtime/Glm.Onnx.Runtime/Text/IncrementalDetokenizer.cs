using System.Text;

namespace Glm.Onnx.Runtime.Text;

/// <summary>
/// Turns a stream of token ids into text deltas without ever emitting a broken UTF-8 sequence: bytes of a
/// character split across tokens are held back until the character is complete. Concatenating every
/// <see cref="Push"/> result and <see cref="Flush"/> gives exactly <see cref="GlmTokenizer.Decode"/> of all ids.
/// One instance per sequence; not thread-safe.
/// </summary>
public sealed class IncrementalDetokenizer
{
    private readonly GlmTokenizer _tokenizer;
    private readonly bool _skipSpecialTokens;
    // The UTF-8 decoder keeps an incomplete trailing sequence between calls (flush: false) and replaces invalid
    // bytes with U+FFFD exactly as a one-shot decode of the same bytes does.
    private readonly Decoder _decoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
    private char[] _chars = new char[64];

    public IncrementalDetokenizer(GlmTokenizer tokenizer, bool skipSpecialTokens = false)
    {
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
    }

    /// <summary>Adds one token; returns the text that became complete (possibly empty).</summary>
    public string Push(int id)
    {
        if (_skipSpecialTokens && _tokenizer.IsSpecial(id))
            return string.Empty;
        return DecodeBytes(_tokenizer.TokenBytes(id), flush: false);
    }

    /// <summary>Ends the stream: any dangling partial character becomes U+FFFD.</summary>
    public string Flush() => DecodeBytes([], flush: true);

    private string DecodeBytes(ReadOnlySpan<byte> bytes, bool flush)
    {
        var needed = _decoder.GetCharCount(bytes, flush: false) + 2;
        if (_chars.Length < needed)
            _chars = new char[Math.Max(needed, _chars.Length * 2)];
        var count = _decoder.GetChars(bytes, _chars, flush);
        return count == 0 ? string.Empty : new string(_chars, 0, count);
    }
}
