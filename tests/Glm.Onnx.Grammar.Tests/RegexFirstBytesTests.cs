using Glm.Onnx.Grammar.Regex;

namespace Glm.Onnx.Grammar.Tests;

public sealed class RegexFirstBytesTests
{
    [Fact]
    public void MayStartHoldsForEveryByteWithALiveDerivativeAndRulesOutOthersOfLiterals()
    {
        var rx = new RegexBuilder();
        var name = rx.Literal("\"name\"");
        var age = rx.Literal("\"age\"");
        var anyKey = JsonStringRegex.Quoted(rx, rx.Star(JsonStringRegex.AnyChar(rx)));
        var additional = rx.And(anyKey, rx.Not(rx.Or(name, age)));
        var optionalThenDigit = rx.Concat(rx.Optional(rx.Byte('-')), rx.Plus(rx.ByteRange('0', '9')));
        var bounded = rx.Repeat(rx.ByteRange('a', 'c'), 0, 3);
        int[] regexes = [name, age, anyKey, additional, optionalThenDigit, bounded, rx.Not(name), RegexBuilder.Epsilon];
        // Also every derivative one byte in, where most of them sit when the lexer asks.
        var all = regexes.Concat(regexes.SelectMany(r => Enumerable.Range(0, 256).Select(b => rx.Derive(r, (byte)b)))).ToList();
        foreach (var r in all)
            for (var b = 0; b < 256; b++)
                if (rx.Derive(r, (byte)b) != RegexBuilder.Nothing)
                    Assert.True(rx.MayStart(r, (byte)b), $"regex {r}, byte {b}");
        Assert.True(rx.MayStart(name, (byte)'"'));
        Assert.False(rx.MayStart(name, (byte)'n'));
        var inName = rx.Derive(name, (byte)'"');
        Assert.True(rx.MayStart(inName, (byte)'n'));
        Assert.False(rx.MayStart(inName, (byte)'a'));
        Assert.True(rx.MayStart(optionalThenDigit, (byte)'-'));
        Assert.True(rx.MayStart(optionalThenDigit, (byte)'7'));
        Assert.False(rx.MayStart(optionalThenDigit, (byte)'x'));
        Assert.False(rx.MayStart(RegexBuilder.Epsilon, (byte)'a'));
    }
}
