namespace Glm.Onnx.Runtime.Text;

/// <summary>
/// An entry of tokenizer.json "added_tokens": matched whole in the input before BPE. <see cref="Special"/> tokens
/// are the ones <c>skipSpecialTokens</c> drops when decoding; <see cref="Normalized"/> tokens are matched after
/// normalization instead of on the raw text.
/// </summary>
public sealed record AddedToken(
    int Id,
    string Content,
    bool Special,
    bool SingleWord = false,
    bool LStrip = false,
    bool RStrip = false,
    bool Normalized = false);
