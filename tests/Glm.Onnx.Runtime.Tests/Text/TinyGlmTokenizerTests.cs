using System.Text;
using Glm.Onnx.Checkpoint;
using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.Tests.Text;

public sealed class TinyGlmTokenizerTests
{
    private static readonly Lazy<GlmTokenizer> Tiny = new(() =>
    {
        using var dir = Fixtures.NewTempDir("tiny-tok");
        TinyGlmTokenizer.Write(dir.Path);
        return GlmTokenizer.Load(dir.Path);
    });

    public static GlmTokenizer Tokenizer => Tiny.Value;

    [Fact]
    public void LoadsWithEveryGlmControlTokenAsOneSpecialId()
    {
        var tokenizer = Tokenizer;
        Assert.Equal(TinyGlmTokenizer.VocabularySize, tokenizer.VocabularySize);
        for (var i = 0; i < GlmSpecialTokens.All.Count; i++)
        {
            var token = GlmSpecialTokens.All[i];
            var expectedId = TinyGlmTokenizer.VocabularySize - GlmSpecialTokens.All.Count + i;
            Assert.Equal([expectedId], tokenizer.Encode(token));
            Assert.True(tokenizer.IsSpecial(expectedId));
            Assert.Equal(token, tokenizer.Decode([expectedId]));
        }

        Assert.Equal(tokenizer.TokenToId("<|endoftext|>"), tokenizer.EosTokenId);
    }

    [Fact]
    public void ByteTokensHaveTheByteAsIdAndMergesApply()
    {
        var tokenizer = Tokenizer;
        Assert.Equal([(int)'a', (int)'b', (int)'c'], tokenizer.Encode("abc"));
        // " the" is the merge chain (" ", "t") -> (" t", "he"): one token.
        var the = tokenizer.Encode(" the");
        Assert.Single(the);
        Assert.Equal("Ġthe", tokenizer.IdToToken(the[0]));
        // Non-ASCII text falls back to its UTF-8 bytes.
        Assert.Equal(Encoding.UTF8.GetBytes("é").Select(b => (int)b), tokenizer.Encode("é"));
    }

    [Theory]
    [InlineData("The cat is on the mat, and nothing is missing.")]
    [InlineData("[gMASK]<sop><|system|>Reasoning Effort: Max<|user|>Hi 你好 🙂<|assistant|><think>")]
    [InlineData("<tool_call>get<arg_key>k</arg_key><arg_value>{\"a\": [1, 2]}</arg_value></tool_call>\n\r\n\t ")]
    [InlineData("")]
    public void RoundTripsText(string text)
    {
        var tokenizer = Tokenizer;
        var ids = tokenizer.Encode(text);
        Assert.Equal(text, tokenizer.Decode(ids));
        Assert.All(ids, id => Assert.InRange(id, 0, tokenizer.VocabularySize - 1));
    }

    [Fact]
    public void SkippingSpecialTokensDropsControlTokensOnly()
    {
        var tokenizer = Tokenizer;
        var ids = tokenizer.Encode("<|user|>hi<|assistant|><think>x</think>");
        Assert.Equal("hix", tokenizer.Decode(ids, skipSpecialTokens: true));
    }
}
