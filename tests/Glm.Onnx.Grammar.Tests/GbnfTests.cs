using Glm.Onnx.Grammar;
using static Glm.Onnx.Grammar.Tests.TestVocabulary;

namespace Glm.Onnx.Grammar.Tests;

public sealed class GbnfTests
{
    private const string Arithmetic = """
        # sums of small numbers
        root ::= expr
        expr ::= term ("+" term)*
        term ::= [0-9]{1,3} | "(" expr ")"
        """;

    [Theory]
    [InlineData("1+2", true)]
    [InlineData("(12+3)+456", true)]
    [InlineData("1234", false)]
    [InlineData("1+", false)]
    [InlineData("(1", false)]
    public void Arith(string text, bool expected) =>
        Assert.Equal(expected, Accepts(GrammarCompiler.CompileGbnf(Arithmetic, Instance), text));

    [Fact]
    public void UnicodeClassesAndNegation()
    {
        var g = GrammarCompiler.CompileGbnf("root ::= [^a-z\\n]+ \"!\"", Instance);
        Assert.True(Accepts(g, "日本!"));
        Assert.False(Accepts(g, "ab!"));
    }

    [Fact]
    public void UndefinedRuleIsNamed()
    {
        var e = Assert.Throws<GrammarException>(() => GrammarCompiler.CompileGbnf("root ::= item\n", Instance));
        Assert.Contains("\"item\"", e.Message);
    }
}
