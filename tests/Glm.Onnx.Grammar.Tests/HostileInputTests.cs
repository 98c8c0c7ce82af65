using System.Diagnostics;
using Glm.Onnx.Grammar;
using Glm.Onnx.Grammar.Gbnf;
using Glm.Onnx.Grammar.Json;
using static Glm.Onnx.Grammar.Tests.TestVocabulary;

namespace Glm.Onnx.Grammar.Tests;

/// <summary>
/// Schemas and grammars built to stall or crash a compiler: each ends in a <see cref="GrammarException"/> that names
/// the limit it hit (or compiles quickly), never a hang or a stack overflow.
/// </summary>
public sealed class HostileInputTests
{
    private static readonly JsonSchemaOptions Tight = new() { CompileTimeout = TimeSpan.FromMilliseconds(1) };

    [Fact]
    public void DeeplyNestedSchemaHitsTheNestingLimit()
    {
        var schema = string.Concat(Enumerable.Repeat("{\"type\":\"array\",\"items\":", 240)) + "{\"type\":\"integer\"}" +
                     new string('}', 240);
        var e = Assert.Throws<GrammarException>(() => Schema(schema));
        Assert.Contains("nesting deeper than 200", e.Message);
    }

    [Fact]
    public void HugeEnumHitsTheCompileTimeLimit()
    {
        var schema = "{\"enum\":[" + string.Join(",", Enumerable.Range(0, 200_000).Select(i => $"\"value-{i}\"")) + "]}";
        var e = Assert.Throws<GrammarException>(() => GrammarCompiler.CompileJsonSchema(schema, Instance, Tight));
        Assert.Contains("compile time limit", e.Message);
        Assert.Contains("CompileTimeout", e.Message);
    }

    [Fact]
    public void ExponentialAnyOfCombinationsAreRefused()
    {
        // allOf of 12 two-way anyOfs: 4096 combinations of branches.
        var groups = string.Join(",", Enumerable.Range(0, 12).Select(i =>
            $"{{\"anyOf\":[{{\"properties\":{{\"a{i}\":{{\"type\":\"integer\"}}}}}},{{\"properties\":{{\"b{i}\":{{\"type\":\"string\"}}}}}}]}}"));
        var e = Assert.Throws<GrammarException>(() => Schema("{\"type\":\"object\",\"allOf\":[" + groups + "]}"));
        Assert.Contains("combinations exceed 256", e.Message);
    }

    [Fact]
    public void DeeplyNestedPatternGroupsAreRefusedNotAStackOverflow()
    {
        var pattern = new string('(', 50_000) + "a" + new string(')', 50_000);
        var e = Assert.Throws<GrammarException>(() => Schema("{\"type\":\"string\",\"pattern\":\"" + pattern + "\"}"));
        Assert.Contains("nested deeper than 100", e.Message);
        Assert.Contains("#/pattern", e.Message);
    }

    [Fact]
    public void GbnfDeepGroupsAreRefusedNotAStackOverflow()
    {
        var text = "root ::= " + new string('(', 50_000) + "\"a\"" + new string(')', 50_000);
        var e = Assert.Throws<GrammarException>(() => GrammarCompiler.CompileGbnf(text, Instance));
        Assert.Contains("nested deeper than 100", e.Message);
        Assert.Contains("GBNF line 1", e.Message);
    }

    [Fact]
    public void GbnfHugeGrammarHitsTheCompileTimeLimit()
    {
        var text = "root ::= " + string.Join(" | ", Enumerable.Range(0, 100_000).Select(i => $"\"w{i}\" [a-z]{{0,30}}"));
        var e = Assert.Throws<GrammarException>(() => GrammarCompiler.CompileGbnf(text, Instance,
            new GbnfOptions { CompileTimeout = TimeSpan.FromMilliseconds(1) }));
        Assert.Contains("GBNF grammar compilation exceeded the compile time limit", e.Message);
    }

    [Fact]
    public void GbnfExponentialAlternationsStayPolynomial()
    {
        // 40 ambiguous choices in a row: 2^40 parses of "aaaa...", which the Earley chart shares.
        var text = "root ::= " + string.Concat(Enumerable.Repeat("x ", 40)) + "\nx ::= \"a\" | \"a\" \"a\" | \"\"";
        var g = GrammarCompiler.CompileGbnf(text, Instance);
        var watch = Stopwatch.StartNew();
        Assert.True(Accepts(g, new string('a', 60)));
        Assert.False(Accepts(g, new string('a', 81)));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
    }
}
