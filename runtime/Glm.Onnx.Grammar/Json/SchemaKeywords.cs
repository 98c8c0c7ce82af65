namespace Glm.Onnx.Grammar.Json;

/// <summary>Which JSON Schema keywords the compiler enforces, which are annotations, and which it refuses.</summary>
internal static class SchemaKeywords
{
    /// <summary>Assertion keywords this engine does not enforce: present (with a non-trivial value), they are a compile
    /// error naming the keyword, never silently dropped.</summary>
    public static readonly HashSet<string> Unsupported =
    [
        "uniqueItems", "multipleOf", "patternProperties", "propertyNames", "dependencies", "dependentRequired",
        "dependentSchemas", "if", "then", "else", "not", "contains", "minContains", "maxContains",
        "unevaluatedProperties", "unevaluatedItems", "$dynamicRef", "$recursiveRef",
        "$dynamicAnchor", "$recursiveAnchor",
    ];
}
