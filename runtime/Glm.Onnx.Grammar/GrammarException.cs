namespace Glm.Onnx.Grammar;

/// <summary>An invalid or unsupported schema/grammar, or a limit hit while compiling; the message names the keyword and
/// the JSON pointer (or grammar line) at fault.</summary>
public sealed class GrammarException : Exception
{
    public GrammarException(string message) : base(message) { }
}
