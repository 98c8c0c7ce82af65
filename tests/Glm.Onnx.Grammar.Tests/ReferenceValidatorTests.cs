using System.Text;
using System.Text.Json.Nodes;
using Glm.Onnx.Grammar;
using Json.Schema;
using static Glm.Onnx.Grammar.Tests.TestVocabulary;

namespace Glm.Onnx.Grammar.Tests;

/// <summary>
/// A slow, independent check: random outputs drawn token by token from the engine's masks must all validate against
/// the schema under JsonSchema.Net (a different implementation of the spec, formats asserted).
/// </summary>
public sealed class ReferenceValidatorTests
{
    // The number bounds stay inside System.Decimal, which JsonSchema.Net converts every number to (a longer sampled
    // number is valid JSON the reference cannot evaluate).
    public static TheoryData<string> Schemas => new()
    {
        "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\",\"minimum\":10,\"maximum\":20},\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":4},\"maxItems\":3},\"ok\":{\"type\":\"boolean\"}},\"required\":[\"id\"],\"additionalProperties\":false}",
        "{\"type\":\"array\",\"prefixItems\":[{\"enum\":[\"a\",\"b\"]},{\"type\":\"number\",\"exclusiveMinimum\":0,\"maximum\":5}],\"items\":false,\"minItems\":2}",
        "{\"type\":\"string\",\"pattern\":\"^[A-Z][a-z]{1,5}(-[0-9]+)?$\"}",
        "{\"type\":\"string\",\"format\":\"date\"}",
        "{\"anyOf\":[{\"type\":\"null\"},{\"type\":\"object\",\"properties\":{\"k\":{\"const\":\"v\"},\"n\":{\"type\":\"number\",\"minimum\":-2,\"maximum\":1000000}},\"required\":[\"k\"],\"additionalProperties\":false}]}",
        "{\"$defs\":{\"n\":{\"type\":\"object\",\"properties\":{\"c\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/n\"},\"maxItems\":2}},\"additionalProperties\":false}},\"$ref\":\"#/$defs/n\"}",
    };

    [Theory]
    [MemberData(nameof(Schemas))]
    public void SampledOutputsValidate(string schemaText)
    {
        var grammar = Schema(schemaText);
        var reference = JsonSchema.FromText(schemaText);
        var options = new EvaluationOptions { RequireFormatValidation = true };
        var rng = new Random(1234);
        var mask = new ulong[Instance.MaskWords];
        var finished = 0;
        for (var sample = 0; sample < 40; sample++)
        {
            var state = grammar.NewState();
            var bytes = new List<byte>();
            for (var step = 0; step < 200; step++)
            {
                if (state.IsAccepting && rng.Next(3) == 0)
                    break;
                state.ComputeMask(mask);
                var allowed = new List<int>();
                for (var id = 0; id < Instance.Size; id++)
                    if (MaskOps.IsAllowed(mask, id))
                        allowed.Add(id);
                if (allowed.Count == 0)
                    break;
                // Lean towards closing punctuation so samples finish.
                var closers = allowed.Where(id => id is '"' or '}' or ']' or ',' || id is >= '0' and <= '9').ToList();
                var pick = closers.Count > 0 && rng.Next(2) == 0 ? closers[rng.Next(closers.Count)] : allowed[rng.Next(allowed.Count)];
                Assert.True(state.Advance(pick));
                bytes.AddRange(Instance.Bytes(pick).ToArray());
            }
            if (!state.IsAccepting)
                continue;
            finished++;
            var text = Encoding.UTF8.GetString(bytes.ToArray());
            var result = reference.Evaluate(JsonNode.Parse(text), options);
            Assert.True(result.IsValid, $"engine produced {text}, which the reference validator rejects");
        }
        Assert.True(finished >= 5, $"only {finished} samples finished");
    }
}
