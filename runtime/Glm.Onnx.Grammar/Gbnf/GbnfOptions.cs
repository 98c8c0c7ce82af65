namespace Glm.Onnx.Grammar.Gbnf;

/// <summary>How long compiling a GBNF grammar may take.</summary>
public sealed record GbnfOptions
{
    /// <summary>Compiling a grammar longer than this is an error (a hostile grammar cannot stall the server).</summary>
    public TimeSpan CompileTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public static GbnfOptions Default { get; } = new();
}
