using Glm.Onnx.Contracts.Text;

namespace Glm.Onnx.Runtime.Text;

/// <summary>
/// The GLM-5.x control tokens by name (their texts live once, in <see cref="GlmControlTokens"/>, shared with the
/// converter), and their ids in a loaded tokenizer. Ids in the real 154880-token vocabulary are listed in
/// docs/architecture.md "Tokenizer and chat format"; always resolve them from the tokenizer, never hard-code ids.
/// </summary>
public static class GlmSpecialTokens
{
    public const string EndOfText = GlmControlTokens.EndOfText;
    public const string Mask = GlmControlTokens.Mask;
    public const string GMask = GlmControlTokens.GMask;
    public const string SMask = GlmControlTokens.SMask;
    public const string StartOfPiece = GlmControlTokens.StartOfPiece;
    public const string EndOfPiece = GlmControlTokens.EndOfPiece;
    public const string System = GlmControlTokens.System;
    public const string User = GlmControlTokens.User;
    public const string Assistant = GlmControlTokens.Assistant;
    public const string Observation = GlmControlTokens.Observation;
    public const string ThinkStart = GlmControlTokens.ThinkStart;
    public const string ThinkEnd = GlmControlTokens.ThinkEnd;
    public const string ToolCallStart = GlmControlTokens.ToolCallStart;
    public const string ToolCallEnd = GlmControlTokens.ToolCallEnd;
    public const string ToolResponseStart = GlmControlTokens.ToolResponseStart;
    public const string ToolResponseEnd = GlmControlTokens.ToolResponseEnd;
    public const string ArgKeyStart = GlmControlTokens.ArgKeyStart;
    public const string ArgKeyEnd = GlmControlTokens.ArgKeyEnd;
    public const string ArgValueStart = GlmControlTokens.ArgValueStart;
    public const string ArgValueEnd = GlmControlTokens.ArgValueEnd;

    /// <summary>Every GLM control token, in the order the GLM vocabulary assigns their ids.</summary>
    public static IReadOnlyList<string> All => GlmControlTokens.All;

    /// <summary>Tokens that end an assistant turn (generation_config eos_token_id of GLM-5.x).</summary>
    public static IReadOnlyList<string> StopTokens => GlmControlTokens.StopTokens;

    /// <summary>The id of a GLM control token, failing with a clear message if the tokenizer lacks it.</summary>
    public static int RequireId(GlmTokenizer tokenizer, string token) =>
        tokenizer.TokenToId(token) ?? throw new TokenizerFormatException(
            $"tokenizer has no '{token}' token; a GLM-5.x tokenizer defines every token in GlmSpecialTokens.All");

    /// <summary>Ids of the stop tokens the tokenizer defines.</summary>
    public static IReadOnlyList<int> StopTokenIds(GlmTokenizer tokenizer) =>
        StopTokens.Select(tokenizer.TokenToId).OfType<int>().ToList();
}
