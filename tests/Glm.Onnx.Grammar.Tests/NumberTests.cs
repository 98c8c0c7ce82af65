using static Glm.Onnx.Grammar.Tests.TestVocabulary;

namespace Glm.Onnx.Grammar.Tests;

public sealed class NumberTests
{
    [Theory]
    [InlineData("0", true)]
    [InlineData("-0", true)]
    [InlineData("01", false)]
    [InlineData("-", false)]
    [InlineData("1.", false)]
    [InlineData(".5", false)]
    [InlineData("1.25E+10", true)]
    [InlineData("1e", false)]
    [InlineData("123456789012345678901234567890", true)]
    public void JsonNumberSyntax(string text, bool expected) =>
        Assert.Equal(expected, Accepts(Schema("{\"type\":\"number\"}"), text));

    [Theory]
    [InlineData("-5", true)]
    [InlineData("-6", false)]
    [InlineData("0", true)]
    [InlineData("99", true)]
    [InlineData("100", true)]
    [InlineData("101", false)]
    [InlineData("1000", false)]
    public void IntegerRangeInclusive(string text, bool expected) =>
        Assert.Equal(expected, Accepts(Schema("{\"type\":\"integer\",\"minimum\":-5,\"maximum\":100}"), text));

    [Theory]
    [InlineData("1", true)]
    [InlineData("0", false)]
    [InlineData("9", true)]
    [InlineData("10", false)]
    [InlineData("-1", false)]
    public void IntegerRangeExclusive(string text, bool expected) =>
        Assert.Equal(expected, Accepts(Schema("{\"type\":\"integer\",\"exclusiveMinimum\":0,\"exclusiveMaximum\":10}"), text));

    [Theory]
    [InlineData("0", false)]
    [InlineData("0.0", false)]
    [InlineData("0.001", true)]
    [InlineData("1", true)]
    [InlineData("1.0", true)]
    [InlineData("1.5", false)]
    [InlineData("-0.5", false)]
    public void NumberRangeExclusiveLowInclusiveHigh(string text, bool expected) =>
        Assert.Equal(expected, Accepts(Schema("{\"type\":\"number\",\"exclusiveMinimum\":0,\"maximum\":1}"), text));

    [Theory]
    [InlineData("-3.5", true)]
    [InlineData("-4", false)]
    [InlineData("-4.01", false)]
    [InlineData("2.999", true)]
    [InlineData("3", false)]
    public void NegativeRangeWithDraft4ExclusiveFlag(string text, bool expected) =>
        Assert.Equal(expected, Accepts(Schema("{\"type\":\"number\",\"minimum\":-4,\"exclusiveMinimum\":true,\"maximum\":3,\"exclusiveMaximum\":true}"), text));

    [Fact]
    public void IntegerBoundsRoundInward()
    {
        var g = Schema("{\"type\":\"integer\",\"minimum\":0.5,\"maximum\":2.5}");
        Assert.False(Accepts(g, "0"));
        Assert.True(Accepts(g, "1"));
        Assert.True(Accepts(g, "2"));
        Assert.False(Accepts(g, "3"));
    }

    [Theory]
    [InlineData("0.5", true)]
    [InlineData("0.49", false)]
    [InlineData("0.5000", true)]
    [InlineData("1", true)]
    [InlineData("2.25", true)]
    [InlineData("2.251", false)]
    [InlineData("2.3", false)]
    [InlineData("-0.1", false)]
    public void FractionalBoundsInclusive(string text, bool expected) =>
        Assert.Equal(expected, Accepts(Schema("{\"type\":\"number\",\"minimum\":0.5,\"maximum\":2.25}"), text));

    [Theory]
    [InlineData("-1.5", false)]
    [InlineData("-1.49", true)]
    [InlineData("0", true)]
    [InlineData("0.1", true)]
    [InlineData("0.2", false)]
    public void FractionalBoundsExclusiveAcrossZero(string text, bool expected) =>
        Assert.Equal(expected, Accepts(Schema("{\"type\":\"number\",\"exclusiveMinimum\":-1.5,\"exclusiveMaximum\":0.2}"), text));
}
