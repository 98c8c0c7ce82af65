using System.Text;

namespace Glm.Onnx.Tests.Text;

/// <summary>The O(n log n) merge path for long pre-tokens must give exactly the library BPE's ids.</summary>
public sealed class LongPieceBpeTests
{
    [Theory]
    [MemberData(nameof(FixtureTokenizers.NameData), MemberType = typeof(FixtureTokenizers))]
    public void LongPiecePathMatchesLibraryBpe(string name)
    {
        var tokenizer = FixtureTokenizers.Get(name);
        var random = new Random(42);
        string[] alphabets = ["ab", "abcdefghijklmnopqrstuvwxyz", "etaoinshrdlu", "的一是不了在人有我他", "éèàçô", "!?.,;:-_=+*"];
        string[] words = ["the", "tokenizer", "internationalization", "attention", "mixture", "expert", "ing", "tion"];
        for (var trial = 0; trial < 40; trial++)
        {
            var sb = new StringBuilder();
            var length = random.Next(1, 400);
            if (trial % 3 == 0)
            {
                while (sb.Length < length)
                    sb.Append(words[random.Next(words.Length)]);
            }
            else
            {
                var alphabet = alphabets[random.Next(alphabets.Length)];
                while (sb.Length < length)
                    sb.Append(alphabet[random.Next(alphabet.Length)]);
            }

            var piece = sb.ToString();
            var expected = new List<int>();
            tokenizer.EncodeWithLibraryBpe(piece, expected);
            var actual = new List<int>();
            Assert.True(tokenizer.TryEncodeWithLongPieceBpe(piece, actual));
            Assert.True(expected.SequenceEqual(actual), $"piece '{piece}': library [{string.Join(",", expected)}] long-piece [{string.Join(",", actual)}]");
        }
    }
}
