using Glm.Onnx.Grammar;
using static Glm.Onnx.Grammar.Tests.TestVocabulary;

namespace Glm.Onnx.Grammar.Tests;

public sealed class BadInputTests
{
    [Theory]
    [InlineData("{\"type\":\"array\",\"uniqueItems\":true}", "uniqueItems", "#/uniqueItems")]
    [InlineData("{\"properties\":{\"a\":{\"not\":{\"type\":\"string\"}}}}", "not", "#/properties/a/not")]
    [InlineData("{\"patternProperties\":{\"^x\":{},\"^y\":{}}}", "patternProperties", "#/patternProperties")]
    [InlineData("{\"type\":\"number\",\"multipleOf\":0.5}", "multipleOf", "#/multipleOf")]
    [InlineData("{\"$ref\":\"other.json#/a\"}", "$ref", "#/$ref")]
    [InlineData("{\"$ref\":\"#/definitions/missing\"}", "does not resolve", "#/$ref")]
    [InlineData("{\"type\":\"string\",\"pattern\":\"(?=a)b\"}", "lookaround", "#/pattern")]
    [InlineData("{\"type\":\"strin\"}", "unknown type", "#/type")]
    public void UnsupportedOrInvalidSchemaNamesKeywordAndPointer(string schema, string keyword, string pointer)
    {
        var e = Assert.Throws<GrammarException>(() => Schema(schema));
        Assert.Contains(keyword, e.Message);
        Assert.Contains(pointer, e.Message);
    }

    [Fact]
    public void TrivialValuesOfUnsupportedKeywordsAreFine()
    {
        Assert.True(Accepts(Schema("{\"type\":\"array\",\"uniqueItems\":false}"), "[1,1]"));
    }

    [Fact]
    public void NotJsonIsAnError()
    {
        var e = Assert.Throws<GrammarException>(() => Schema("{\"type\":"));
        Assert.Contains("not valid JSON", e.Message);
    }

    [Fact]
    public void SelfReferenceWithoutProgressIsAnErrorNotAHang()
    {
        var e = Assert.Throws<GrammarException>(() => Schema("{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/a\"}},\"$ref\":\"#/$defs/a\"}"));
        Assert.Contains("$ref", e.Message);
    }

    [Fact]
    public void HugeBoundsAreRefused()
    {
        Assert.Throws<GrammarException>(() => Schema("{\"type\":\"array\",\"maxItems\":100000000}"));
        Assert.Throws<GrammarException>(() => Schema("{\"type\":\"string\",\"pattern\":\"^a{1,100000}$\"}"));
    }

    [Fact]
    public void CompileTimeLimitApplies()
    {
        var deep = "{\"type\":\"object\",\"properties\":{" +
            string.Join(",", Enumerable.Range(0, 3000).Select(i => $"\"p{i}\":{{\"type\":\"string\",\"pattern\":\"^[a-z]{{1,40}}x$\"}}")) + "}}";
        var e = Assert.Throws<GrammarException>(() => GrammarCompiler.CompileJsonSchema(deep, Instance,
            new Json.JsonSchemaOptions { CompileTimeout = TimeSpan.FromMilliseconds(1) }));
        Assert.Contains("exceeded", e.Message);
    }
}
