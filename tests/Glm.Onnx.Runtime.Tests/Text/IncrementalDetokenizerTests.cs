using System.Text;
using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.Tests.Text;

public sealed class IncrementalDetokenizerTests
{
    [Fact]
    public void HoldsBackASplitCharacterUntilItIsComplete()
    {
        var tokenizer = TinyGlmTokenizerTests.Tokenizer;
        var detok = new IncrementalDetokenizer(tokenizer);
        // "é🙂" as single-byte tokens: C3 A9 F0 9F 99 82 (the tiny tokenizer's byte b has id b).
        var deltas = new[] { 0xC3, 0xA9, 0xF0, 0x9F, 0x99, 0x82 }.Select(detok.Push).ToList();
        Assert.Equal(["", "é", "", "", "", "🙂"], deltas);
        Assert.Equal("", detok.Flush());
    }

    [Fact]
    public void RandomBytesStreamToTheSameTextAsAOneShotUtf8Decode()
    {
        var tokenizer = TinyGlmTokenizerTests.Tokenizer;
        var random = new Random(1234);
        for (var trial = 0; trial < 200; trial++)
        {
            // Mostly valid multi-byte text with some raw invalid bytes mixed in.
            var bytes = new List<byte>();
            for (var i = 0; i < 20; i++)
            {
                if (random.Next(4) == 0)
                    bytes.Add((byte)random.Next(0x80, 0x100));
                else
                    bytes.AddRange(Encoding.UTF8.GetBytes(char.ConvertFromUtf32(RandomScalar(random))));
            }

            var expected = Encoding.UTF8.GetString(bytes.ToArray());
            var detok = new IncrementalDetokenizer(tokenizer);
            var streamed = new StringBuilder();
            foreach (var b in bytes)
            {
                var delta = detok.Push(b);
                Assert.False(delta.Length > 0 && char.IsHighSurrogate(delta[^1]), "delta ends inside a surrogate pair");
                streamed.Append(delta);
            }

            streamed.Append(detok.Flush());
            Assert.Equal(expected, streamed.ToString());
            Assert.Equal(expected, tokenizer.Decode(bytes.Select(b => (int)b).ToArray()));
        }
    }

    [Theory]
    [MemberData(nameof(FixtureTokenizers.NameData), MemberType = typeof(FixtureTokenizers))]
    public void FixtureTokenStreamsMatchFullDecodeWithoutReplacementCharacters(string name)
    {
        var tokenizer = FixtureTokenizers.Get(name);
        foreach (var c in FixtureTokenizers.OracleCases(name))
        {
            var detok = new IncrementalDetokenizer(tokenizer);
            var deltas = c.Ids.Select(detok.Push).Append(detok.Flush()).ToList();
            Assert.All(deltas, d => Assert.DoesNotContain('\uFFFD', d));
            Assert.Equal(c.Decoded, string.Concat(deltas));
        }
    }

    [Fact]
    public void DanglingPartialCharacterBecomesReplacementOnFlush()
    {
        var detok = new IncrementalDetokenizer(TinyGlmTokenizerTests.Tokenizer);
        Assert.Equal("a", detok.Push('a'));
        Assert.Equal("", detok.Push(0xE4));
        Assert.Equal("", detok.Push(0xBD));
        Assert.Equal("\uFFFD", detok.Flush());
    }

    private static int RandomScalar(Random random)
    {
        return random.Next(4) switch
        {
            0 => random.Next(0x20, 0x80),
            1 => random.Next(0x80, 0x800),
            2 => random.Next(0x800, 0xD800),
            _ => random.Next(0x10000, 0x110000),
        };
    }
}
