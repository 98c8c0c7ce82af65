using Glm.Onnx.Checkpoint;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.Tests.Text;

/// <summary>The engine's token-decoder seam over the tokenizer: per-request streams, UTF-8 safe, control tokens kept.</summary>
public sealed class GlmTokenDecoderTests
{
    private static GlmTokenizer TinyTokenizer()
    {
        using var dir = Fixtures.NewTempDir("glm-decoder");
        TinyGlmTokenizer.Write(dir.Path);
        return GlmTokenizer.Load(dir.Path);
    }

    [Fact]
    public void StreamsHoldBackPartialCharactersAndConcatenateToTheFullDecode()
    {
        var tokenizer = TinyTokenizer();
        ITokenDecoder decoder = new GlmTokenDecoder(tokenizer);
        const string text = "<think>é 🙂</think>Hi there<|user|>";
        var ids = tokenizer.Encode(text);
        var stream = decoder.CreateStream();
        var deltas = ids.Select(stream.Append).ToList();
        deltas.Add(stream.Flush());
        Assert.Equal(text, string.Concat(deltas));
        // "é" is two byte tokens (0xC3 0xA9) in this byte-level vocabulary: the first yields nothing, the second the character.
        int e = Array.IndexOf(ids, 0xC3);
        Assert.Equal(("", "é"), (deltas[e], deltas[e + 1]));
        Assert.Contains("<think>", deltas);
    }

    [Fact]
    public void StreamsAreIndependentAndSkippingSpecialTokensDropsThem()
    {
        var tokenizer = TinyTokenizer();
        var decoder = new GlmTokenDecoder(tokenizer, skipSpecialTokens: true);
        var a = decoder.CreateStream();
        var b = decoder.CreateStream();
        Assert.Equal("", a.Append(0xC3)); // a holds half a character; b is unaffected
        Assert.Equal("x", b.Append('x'));
        Assert.Equal("é", a.Append(0xA9));
        Assert.Equal("", b.Append(GlmSpecialTokens.RequireId(tokenizer, GlmSpecialTokens.User)));
        Assert.Equal("\uFFFD", new GlmTokenDecoder(tokenizer).CreateStream() is var c && c.Append(0xC3) == "" ? c.Flush() : "not held");
    }
}
