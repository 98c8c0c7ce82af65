namespace Glm.Onnx.Runtime.Text;

/// <summary>
/// The GLM-5.x control tokens by name, and their ids in a loaded tokenizer. The texts are the vocabulary
/// entries of the GLM-4.5 / GLM-5 family (ids in the real 154880-token vocabulary are listed in
/// docs/glm52-architecture.md section 9; always resolve them from the tokenizer, never hard-code ids).
/// </summary>
public static class GlmSpecialTokens
{
    public const string EndOfText = "<|endoftext|>";
    public const string Mask = "[MASK]";
    public const string GMask = "[gMASK]";
    public const string SMask = "[sMASK]";
    public const string StartOfPiece = "<sop>";
    public const string EndOfPiece = "<eop>";
    public const string System = "<|system|>";
    public const string User = "<|user|>";
    public const string Assistant = "<|assistant|>";
    public const string Observation = "<|observation|>";
    public const string ThinkStart = "<think>";
    public const string ThinkEnd = "</think>";
    public const string ToolCallStart = "<tool_call>";
    public const string ToolCallEnd = "</tool_call>";
    public const string ToolResponseStart = "<tool_response>";
    public const string ToolResponseEnd = "</tool_response>";
    public const string ArgKeyStart = "<arg_key>";
    public const string ArgKeyEnd = "</arg_key>";
    public const string ArgValueStart = "<arg_value>";
    public const string ArgValueEnd = "</arg_value>";

    /// <summary>Every GLM control token, in the order the GLM vocabulary assigns their ids.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        EndOfText, Mask, GMask, SMask, StartOfPiece, EndOfPiece, System, User, Assistant, Observation,
        ThinkStart, ThinkEnd, ToolCallStart, ToolCallEnd, ToolResponseStart, ToolResponseEnd,
        ArgKeyStart, ArgKeyEnd, ArgValueStart, ArgValueEnd,
    ];

    /// <summary>Tokens that end an assistant turn (generation_config eos_token_id of GLM-5.x).</summary>
    public static IReadOnlyList<string> StopTokens { get; } = [EndOfText, User, Observation];

    /// <summary>The id of a GLM control token, failing with a clear message if the tokenizer lacks it.</summary>
    public static int RequireId(GlmTokenizer tokenizer, string token) =>
        tokenizer.TokenToId(token) ?? throw new TokenizerFormatException(
            $"tokenizer has no '{token}' token; a GLM-5.x tokenizer defines every token in GlmSpecialTokens.All");

    /// <summary>Ids of the stop tokens the tokenizer defines.</summary>
    public static IReadOnlyList<int> StopTokenIds(GlmTokenizer tokenizer) =>
        StopTokens.Select(tokenizer.TokenToId).OfType<int>().ToList();
}
