namespace Glm.Onnx.Runtime.Constraints;

/// <summary>
/// A constrained request reached a point where its grammar allows no token and cannot end (a schema part that no
/// value satisfies, found only when generation gets there). The request fails with this error, ending it at once
/// rather than looping; it is the request's input at fault, not the engine (docs/structured-output.md).
/// </summary>
public sealed class GrammarDeadEndException : InvalidOperationException
{
    public GrammarDeadEndException(string message) : base(message) { }

    public GrammarDeadEndException() { }

    public GrammarDeadEndException(string message, Exception inner) : base(message, inner) { }
}
