namespace Glm.Onnx.Runtime.Text;

/// <summary>A tokenizer file is malformed or uses a feature this loader does not implement.</summary>
public sealed class TokenizerFormatException(string message, Exception? inner = null) : Exception(message, inner);
