using Glm.Onnx.Grammar;
using static Glm.Onnx.Grammar.Tests.TestVocabulary;

namespace Glm.Onnx.Grammar.Tests;

public sealed class SchemaFeatureTests
{
    [Theory]
    [InlineData("{\"type\":\"string\"}", "\"abc\"", true)]
    [InlineData("{\"type\":\"string\"}", "12", false)]
    [InlineData("{\"type\":\"integer\"}", "-12", true)]
    [InlineData("{\"type\":\"integer\"}", "1.5", false)]
    [InlineData("{\"type\":\"number\"}", "1.5e-3", true)]
    [InlineData("{\"type\":\"boolean\"}", "false", true)]
    [InlineData("{\"type\":\"null\"}", "null", true)]
    [InlineData("{\"type\":\"null\"}", "nul", false)]
    [InlineData("{\"type\":[\"string\",\"null\"]}", "null", true)]
    [InlineData("{\"type\":[\"string\",\"null\"]}", "true", false)]
    [InlineData("{\"type\":\"string\",\"nullable\":true}", "null", true)]
    public void Types(string schema, string text, bool expected) => Assert.Equal(expected, Accepts(Schema(schema), text));

    private const string Person =
        "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"age\":{\"type\":\"integer\"},\"nick\":{\"type\":\"string\"}},\"required\":[\"name\"],\"additionalProperties\":false}";

    [Theory]
    [InlineData("{\"name\":\"x\"}", true)]
    [InlineData("{\"name\":\"x\",\"age\":3}", true)]
    [InlineData("{\"name\":\"x\",\"nick\":\"y\"}", true)]
    [InlineData("{\"name\":\"x\",\"age\":3,\"nick\":\"y\"}", true)]
    [InlineData("{\"age\":3}", false)]
    [InlineData("{\"name\":\"x\",\"age\":\"3\"}", false)]
    [InlineData("{\"name\":\"x\",\"other\":1}", false)]
    [InlineData("{}", false)]
    [InlineData("{\"name\":\"x\",}", false)]
    public void ObjectsRequiredAndAdditional(string text, bool expected) => Assert.Equal(expected, Accepts(Schema(Person), text));

    [Theory]
    [InlineData("{\"a\":1,\"zz\":true}", true)]
    [InlineData("{\"zz\":[1,{\"q\":null}]}", true)]
    [InlineData("{\"a\":\"s\"}", false)]
    public void AdditionalPropertiesDefaultAllowsAnyOtherKey(string text, bool expected) =>
        Assert.Equal(expected, Accepts(Schema("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}}}"), text));

    [Theory]
    [InlineData("{\"zz\":1}", true)]
    [InlineData("{\"zz\":\"s\"}", false)]
    public void AdditionalPropertiesSchema(string text, bool expected) =>
        Assert.Equal(expected, Accepts(Schema("{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\"}}"), text));

    [Theory]
    [InlineData("[]", false)]
    [InlineData("[1]", true)]
    [InlineData("[1,2,3]", true)]
    [InlineData("[1,2,3,4]", false)]
    [InlineData("[1,\"a\"]", false)]
    public void ArrayItemsAndBounds(string text, bool expected) =>
        Assert.Equal(expected, Accepts(Schema("{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":1,\"maxItems\":3}"), text));

    [Theory]
    [InlineData("[\"a\",1]", true)]
    [InlineData("[\"a\",1,true,false]", true)]
    [InlineData("[\"a\",1,2]", false)]
    [InlineData("[1,\"a\"]", false)]
    public void PrefixItems(string text, bool expected) =>
        Assert.Equal(expected, Accepts(Schema("{\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"integer\"}],\"items\":{\"type\":\"boolean\"},\"type\":\"array\"}"), text));

    [Theory]
    [InlineData("\"red\"", true)]
    [InlineData("1", true)]
    [InlineData("{\"a\":[1]}", true)]
    [InlineData("\"blue\"", false)]
    [InlineData("{\"a\":[2]}", false)]
    public void EnumOfAnyValue(string text, bool expected) =>
        Assert.Equal(expected, Accepts(Schema("{\"enum\":[\"red\",1,{\"a\":[1]}]}"), text));

    [Fact]
    public void ConstAndEnumIntersectWithType()
    {
        var g = Schema("{\"type\":\"string\",\"enum\":[\"a\",1]}");
        Assert.True(Accepts(g, "\"a\""));
        Assert.False(Accepts(g, "1"));
        Assert.True(Accepts(Schema("{\"const\":\"x\"}"), "\"x\""));
    }

    [Theory]
    [InlineData("\"s\"", true)]
    [InlineData("5", true)]
    [InlineData("true", false)]
    public void AnyOf(string text, bool expected) =>
        Assert.Equal(expected, Accepts(Schema("{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"integer\",\"minimum\":3}]}"), text));

    [Fact]
    public void OneOfWithDisjointBranchesCompiles()
    {
        var g = Schema("{\"oneOf\":[{\"type\":\"object\",\"properties\":{\"kind\":{\"const\":\"a\"},\"x\":{\"type\":\"integer\"}},\"required\":[\"kind\"]},{\"type\":\"object\",\"properties\":{\"kind\":{\"const\":\"b\"}},\"required\":[\"kind\"]}]}");
        Assert.True(Accepts(g, "{\"kind\":\"a\",\"x\":1}"));
        Assert.True(Accepts(g, "{\"kind\":\"b\"}"));
        Assert.False(Accepts(g, "{\"kind\":\"c\"}"));
    }

    [Fact]
    public void OneOfWithOverlappingBranchesIsACompileError()
    {
        var e = Assert.Throws<GrammarException>(() => Schema("{\"oneOf\":[{\"type\":\"integer\"},{\"type\":\"number\"}]}"));
        Assert.Contains("oneOf", e.Message);
        Assert.Contains("#/oneOf", e.Message);
    }

    [Theory]
    [InlineData("{\"a\":1,\"b\":\"x\"}", true)]
    [InlineData("{\"a\":1}", false)]
    [InlineData("{\"b\":\"x\"}", false)]
    public void AllOfMergesObjects(string text, bool expected) =>
        Assert.Equal(expected, Accepts(Schema("{\"allOf\":[{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}},\"required\":[\"a\"]},{\"properties\":{\"b\":{\"type\":\"string\"}},\"required\":[\"b\"]}]}"), text));

    private const string Tree =
        "{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"integer\"},\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/node\"}}},\"required\":[\"v\"],\"additionalProperties\":false}},\"$ref\":\"#/$defs/node\"}";

    [Theory]
    [InlineData("{\"v\":1}", true)]
    [InlineData("{\"v\":1,\"kids\":[{\"v\":2},{\"v\":3,\"kids\":[{\"v\":4,\"kids\":[]}]}]}", true)]
    [InlineData("{\"v\":1,\"kids\":[{\"v\":\"2\"}]}", false)]
    [InlineData("{\"v\":1,\"kids\":[{}]}", false)]
    public void RecursiveRef(string text, bool expected) => Assert.Equal(expected, Accepts(Schema(Tree), text));

    [Fact]
    public void DefinitionsAndRootRefResolve()
    {
        var g = Schema("{\"definitions\":{\"n\":{\"type\":\"integer\"}},\"type\":\"object\",\"properties\":{\"x\":{\"$ref\":\"#/definitions/n\"},\"self\":{\"$ref\":\"#\"}}}");
        Assert.True(Accepts(g, "{\"x\":1,\"self\":{\"x\":2}}"));
        Assert.False(Accepts(g, "{\"x\":\"1\"}"));
    }

    [Theory]
    [InlineData("\"ab\"", true)]
    [InlineData("\"a\"", false)]
    [InlineData("\"abcd\"", false)]
    [InlineData("\"日本\"", true)]
    [InlineData("\"日本語\"", true)]
    [InlineData("\"\\n\\\"\"", true)]
    public void StringLengthCountsCharacters(string text, bool expected) =>
        Assert.Equal(expected, Accepts(Schema("{\"type\":\"string\",\"minLength\":2,\"maxLength\":3}"), text));

    [Theory]
    [InlineData("{\"type\":\"string\",\"pattern\":\"^[a-z]+$\"}", "\"abc\"", true)]
    [InlineData("{\"type\":\"string\",\"pattern\":\"^[a-z]+$\"}", "\"abC\"", false)]
    [InlineData("{\"type\":\"string\",\"pattern\":\"b+c\"}", "\"xxbbcyy\"", true)]
    [InlineData("{\"type\":\"string\",\"pattern\":\"b+c\"}", "\"xxbyy\"", false)]
    [InlineData("{\"type\":\"string\",\"pattern\":\"^\\\\d{3}-\\\\d{4}$\"}", "\"555-1234\"", true)]
    [InlineData("{\"type\":\"string\",\"pattern\":\"^\\\\d{3}-\\\\d{4}$\"}", "\"555-123\"", false)]
    [InlineData("{\"type\":\"string\",\"pattern\":\"^(?:cat|dog)s?$\",\"maxLength\":3}", "\"dogs\"", false)]
    [InlineData("{\"type\":\"string\",\"pattern\":\"^(?:cat|dog)s?$\",\"maxLength\":3}", "\"cat\"", true)]
    public void Patterns(string schema, string text, bool expected) => Assert.Equal(expected, Accepts(Schema(schema), text));

    [Theory]
    [InlineData("date", "\"2024-02-29\"", true)]
    [InlineData("date", "\"2024-02-30\"", false)]
    [InlineData("date", "\"2024-13-01\"", false)]
    [InlineData("date-time", "\"2024-01-31T23:59:59.5Z\"", true)]
    [InlineData("date-time", "\"2024-01-31 23:59:59Z\"", false)]
    [InlineData("time", "\"10:00:00+02:00\"", true)]
    [InlineData("uuid", "\"123e4567-e89b-12d3-a456-426614174000\"", true)]
    [InlineData("uuid", "\"123e4567-e89b-12d3-a456-42661417400\"", false)]
    [InlineData("ipv4", "\"192.168.0.255\"", true)]
    [InlineData("ipv4", "\"192.168.0.256\"", false)]
    [InlineData("ipv6", "\"::1\"", true)]
    [InlineData("ipv6", "\"2001:db8::8a2e:370:7334\"", true)]
    [InlineData("ipv6", "\"1:2:3\"", false)]
    [InlineData("email", "\"a.b@example.com\"", true)]
    [InlineData("email", "\"a.b.example.com\"", false)]
    [InlineData("uri", "\"https://example.com/a?b=c#d\"", true)]
    [InlineData("uri", "\"not a uri\"", false)]
    public void Formats(string format, string text, bool expected) =>
        Assert.Equal(expected, Accepts(Schema($"{{\"type\":\"string\",\"format\":\"{format}\"}}"), text));

    [Fact]
    public void UnknownFormatIsACompileError()
    {
        var e = Assert.Throws<GrammarException>(() => Schema("{\"type\":\"string\",\"format\":\"color\"}"));
        Assert.Contains("format \"color\"", e.Message);
        Assert.Contains("#/format", e.Message);
    }

    [Theory]
    [InlineData("{}", false)]
    [InlineData("{\"a\":1}", true)]
    [InlineData("{\"zz\":true}", true)]
    [InlineData("{\"a\":1,\"zz\":true}", true)]
    public void MinPropertiesOneMeansNonEmpty(string text, bool expected) =>
        Assert.Equal(expected, Accepts(Schema("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}},\"minProperties\":1}"), text));

    [Fact]
    public void MaxPropertiesThatCanBeExceededIsACompileError()
    {
        var e = Assert.Throws<GrammarException>(() => Schema("{\"type\":\"object\",\"maxProperties\":2}"));
        Assert.Contains("maxProperties", e.Message);
        Assert.True(Accepts(Schema("{\"type\":\"object\",\"properties\":{\"a\":{}},\"additionalProperties\":false,\"maxProperties\":1}"), "{\"a\":2}"));
    }

    [Theory]
    [InlineData("{\"x1\":1,\"x2\":2}", true)]
    [InlineData("{\"x1\":\"s\"}", false)]
    [InlineData("{\"y\":\"s\"}", true)]
    [InlineData("{\"y\":1}", false)]
    [InlineData("{\"x\":3}", true)]
    [InlineData("{\"x\":\"3\"}", false)]
    public void PatternProperties(string text, bool expected) =>
        Assert.Equal(expected, Accepts(Schema("{\"type\":\"object\",\"properties\":{\"x\":{}},\"patternProperties\":{\"^x\":{\"type\":\"integer\"}},\"additionalProperties\":{\"type\":\"string\"}}"), text));

    [Theory]
    [InlineData("{\"name\":\"x\",\"age\":1}", true)]
    [InlineData("{\"age\":1,\"name\":\"x\"}", true)]
    [InlineData("{\"age\":1,\"name\":\"x\",\"age\":2}", false)]
    [InlineData("{\"age\":1}", false)]
    public void RequiredPropertiesMayAlsoComeFirst(string text, bool expected) =>
        Assert.Equal(expected, Accepts(Schema("{\"type\":\"object\",\"properties\":{\"age\":{\"type\":\"integer\"},\"name\":{\"type\":\"string\"}},\"required\":[\"name\"],\"additionalProperties\":false}"), text));

    [Fact]
    public void Draft7RefIgnoresSiblingKeywords()
    {
        const string defs = "\"definitions\":{\"n\":{\"type\":\"integer\"}}";
        Assert.True(Accepts(Schema("{\"$schema\":\"http://json-schema.org/draft-07/schema#\"," + defs + ",\"$ref\":\"#/definitions/n\",\"minimum\":5}"), "1"));
        Assert.False(Accepts(Schema("{" + defs + ",\"$ref\":\"#/definitions/n\",\"minimum\":5}"), "1"));
    }

    [Theory]
    [InlineData("{\"a\":1,\"b\":2,\"c\":3}", true)]
    [InlineData("{\"c\":3,\"a\":1,\"b\":2}", true)]
    [InlineData("{\"c\":3,\"a\":1}", true)]
    [InlineData("{\"a\":1,\"c\":3,\"b\":2}", true)]
    [InlineData("{\"b\":2,\"c\":3,\"a\":1}", true)]
    [InlineData("{\"b\":2,\"a\":1,\"c\":3}", true)]
    [InlineData("{\"b\":2,\"a\":1}", false)]
    [InlineData("{\"b\":2,\"c\":3}", false)]
    [InlineData("{\"a\":1,\"c\":3,\"a\":1}", false)]
    [InlineData("{\"c\":3,\"b\":2,\"a\":1,\"b\":2}", false)]
    [InlineData("{\"c\":3,\"a\":1,\"d\":4}", false)]
    public void PropertiesInAnyOrderEachOnceWithTheRequiredOnes(string text, bool expected) =>
        Assert.Equal(expected, Accepts(Schema("{\"type\":\"object\",\"properties\":{\"a\":{},\"b\":{},\"c\":{}},\"required\":[\"c\",\"a\"],\"additionalProperties\":false}"), text));

    [Theory]
    [InlineData("{\"zz\":1,\"a\":2,\"yy\":[3]}", true)]
    [InlineData("{\"a\":2,\"zz\":1}", true)]
    [InlineData("{\"zz\":1}", false)]
    [InlineData("{\"zz\":1,\"a\":2,\"a\":3}", false)]
    [InlineData("{\"a\":\"x\",\"zz\":1}", false)]
    public void AdditionalPropertiesMayComeBetweenNamedOnes(string text, bool expected) =>
        Assert.Equal(expected, Accepts(Schema("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{}},\"required\":[\"a\"]}"), text));

    [Fact]
    public void NestedObjectsOfOneRecursiveSchemaKeepTheirOwnKeySets()
    {
        var g = Schema("{\"$defs\":{\"n\":{\"type\":\"object\",\"properties\":{\"v\":{\"type\":\"integer\"},\"k\":{\"$ref\":\"#/$defs/n\"}},\"required\":[\"v\"],\"additionalProperties\":false}},\"$ref\":\"#/$defs/n\"}");
        Assert.True(Accepts(g, "{\"k\":{\"v\":1},\"v\":2}"));
        Assert.True(Accepts(g, "{\"k\":{\"k\":{\"v\":1},\"v\":3},\"v\":2}"));
        Assert.False(Accepts(g, "{\"k\":{\"v\":1,\"v\":1},\"v\":2}"));
        Assert.False(Accepts(g, "{\"k\":{\"v\":1},\"k\":{\"v\":1},\"v\":2}"));
        Assert.False(Accepts(g, "{\"k\":{\"k\":{\"v\":1}},\"v\":2}"));
    }

    [Fact]
    public void TheMaskOffersNoDeadEndInAnyOrderObjects()
    {
        // Once every key is used, neither a comma nor the first bytes of a used key may be offered: nothing could
        // follow them. Checked on the mask itself, byte by byte.
        var g = Schema("{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"boolean\"},\"n\":{\"type\":\"integer\"}},\"required\":[\"ok\"],\"additionalProperties\":false}");
        var mask = new ulong[Instance.MaskWords];
        bool Allowed(string prefix, char next)
        {
            var state = g.NewState();
            Assert.True(state.AdvanceBytes(System.Text.Encoding.UTF8.GetBytes(prefix)));
            state.ComputeMask(mask);
            return MaskOps.IsAllowed(mask, next);
        }
        Assert.False(Allowed("{\"ok\":true,\"n\":1", ','));
        Assert.True(Allowed("{\"ok\":true,\"n\":1", '}'));
        Assert.False(Allowed("{\"n\":1,\"", 'n'));
        Assert.True(Allowed("{\"n\":1,\"", 'o'));
        Assert.False(Allowed("{\"n\":1", '}'));
        Assert.True(Allowed("{\"ok\":true", ','));
    }

    [Fact]
    public void ObjectsWithManyPropertiesStayPolynomial()
    {
        // 60 optional properties: any order is accepted without an exponential grammar (compiles and answers quickly).
        var props = string.Join(",", Enumerable.Range(0, 60).Select(i => $"\"p{i}\":{{\"type\":\"integer\"}}"));
        var g = Schema("{\"type\":\"object\",\"properties\":{" + props + "},\"required\":[\"p7\"],\"additionalProperties\":false}");
        var reversed = "{" + string.Join(",", Enumerable.Range(0, 60).Reverse().Select(i => $"\"p{i}\":{i}")) + "}";
        Assert.True(Accepts(g, reversed));
        Assert.False(Accepts(g, "{\"p3\":1,\"p9\":2}"));
        Assert.False(Accepts(g, "{\"p7\":1,\"p9\":2,\"p7\":3}"));
    }
}
