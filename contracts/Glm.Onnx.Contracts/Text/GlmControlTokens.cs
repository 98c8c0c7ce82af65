namespace Glm.Onnx.Contracts.Text;

/// <summary>
/// The texts of the GLM-5.x control tokens, in the order the GLM vocabulary assigns their ids (docs/architecture.md
/// "Tokenizer and chat format"). Shared because the converter writes tokenizers with them (glm-convert synth
/// --tokenizer tiny-glm) and the runtime formats and parses chat with them. Ids always come from the tokenizer.
/// </summary>
public static class GlmControlTokens
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
}
