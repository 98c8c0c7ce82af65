using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.Tests.Text;

/// <summary>Reference ids and decodes from an independent implementation (transformers.js port) in the fixtures.</summary>
public sealed class TokenizerOracleTests
{
    [Theory]
    [MemberData(nameof(FixtureTokenizers.NameData), MemberType = typeof(FixtureTokenizers))]
    public void EncodeMatchesEveryOracleCase(string name)
    {
        var tokenizer = FixtureTokenizers.Get(name);
        var cases = FixtureTokenizers.OracleCases(name);
        Assert.NotEmpty(cases);
        var failures = cases
            .Select(c => (c, got: tokenizer.Encode(c.Text, addSpecialTokens: false)))
            .Where(x => !x.got.SequenceEqual(x.c.Ids))
            .Select(x => $"{Show(x.c.Text)}: expected [{string.Join(", ", x.c.Ids)}] got [{string.Join(", ", x.got)}]")
            .ToList();
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Theory]
    [MemberData(nameof(FixtureTokenizers.NameData), MemberType = typeof(FixtureTokenizers))]
    public void DecodeMatchesEveryOracleCaseAndRoundTrips(string name)
    {
        var tokenizer = FixtureTokenizers.Get(name);
        foreach (var c in FixtureTokenizers.OracleCases(name))
        {
            Assert.Equal(c.Decoded, tokenizer.Decode(c.Ids));
            Assert.Equal(c.Text, tokenizer.Decode(tokenizer.Encode(c.Text)));
        }
    }

    private static string Show(string s) => System.Text.Json.JsonSerializer.Serialize(s);
}
