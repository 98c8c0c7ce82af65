namespace Glm.Onnx.Runtime.Text;

/// <summary>
/// A run of characters [Start, Start + Length) that the tokenizer must encode as plain text: no added or special
/// token is matched inside it, even when its characters spell one (e.g. "&lt;|assistant|&gt;" typed by a user).
/// </summary>
public readonly record struct LiteralSpan(int Start, int Length)
{
    public int End => Start + Length;
}
