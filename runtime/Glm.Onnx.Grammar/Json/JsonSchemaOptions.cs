namespace Glm.Onnx.Grammar.Json;

/// <summary>How schema grammars format JSON and how long compiling may take.</summary>
public sealed record JsonSchemaOptions
{
    /// <summary>Whitespace bytes allowed before each JSON token (0 = compact output, the default).</summary>
    public int MaxWhitespace { get; init; }

    /// <summary>Compiling a schema longer than this is an error (a hostile schema cannot stall the server).</summary>
    public TimeSpan CompileTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public static JsonSchemaOptions Default { get; } = new();
}
