using System.Numerics;
using System.Text.Json;

namespace Glm.Onnx.Grammar.Json;

/// <summary>One schema object taking part in a conjunction, with its JSON pointer for error messages.
/// <paramref name="NoCombinators"/>: its anyOf/oneOf were already distributed by the caller.</summary>
internal readonly record struct SchemaPart(JsonElement Schema, string Pointer, bool NoCombinators = false);

/// <summary>What an object-constraining part says about properties it does not name.</summary>
internal sealed record ObjectPart(HashSet<string> Names, bool AdditionalForbidden, SchemaPart? AdditionalSchema,
    (string Pattern, string Pointer, SchemaPart Schema)? PatternProperty = null);

/// <summary>
/// The conjunction (allOf, $ref siblings, anyOf branch plus its parent) of several schema objects, keyword by keyword:
/// the grammar is generated from this merged view.
/// </summary>
internal sealed class MergedSchema
{
    public bool Nothing;
    public bool Constrained;
    public HashSet<string>? Types;
    public bool Nullable;
    public readonly List<string> PropertyOrder = new();
    public readonly Dictionary<string, List<SchemaPart>> Properties = new();
    public readonly HashSet<string> Required = new();
    public readonly List<string> RequiredOrder = new();
    public readonly List<ObjectPart> ObjectParts = new();
    public readonly List<SchemaPart> Items = new();
    public bool ItemsForbidden;
    public List<List<SchemaPart>>? Prefix;
    public long MinItems;
    public long? MaxItems;
    public (long Value, string Pointer)? MinProperties;
    public (long Value, string Pointer)? MaxProperties;
    public long MinLength;
    public long? MaxLength;
    public readonly List<(string Pattern, string Pointer)> Patterns = new();
    public readonly List<(string Format, string Pointer)> Formats = new();
    public decimal? Minimum;
    public bool MinimumExclusive;
    public decimal? Maximum;
    public bool MaximumExclusive;
    public (decimal Value, string Pointer)? MultipleOf;
    public List<JsonElement>? Enum;
    public string? EnumPointer;
    public readonly List<(List<SchemaPart> Branches, bool OneOf, string Pointer)> Groups = new();

    public void TightenMinimum(decimal v, bool exclusive)
    {
        if (Minimum is null || v > Minimum || (v == Minimum && exclusive))
        {
            Minimum = v;
            MinimumExclusive = exclusive;
        }
    }

    public void TightenMaximum(decimal v, bool exclusive)
    {
        if (Maximum is null || v < Maximum || (v == Maximum && exclusive))
        {
            Maximum = v;
            MaximumExclusive = exclusive;
        }
    }

    public static BigInteger Floor(decimal d) => new(decimal.Floor(d));

    public static BigInteger Ceiling(decimal d) => new(decimal.Ceiling(d));
}
