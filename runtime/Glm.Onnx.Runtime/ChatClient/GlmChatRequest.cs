using Glm.Onnx.Runtime.Chat;
using Glm.Onnx.Runtime.Constraints;
using Glm.Onnx.Runtime.Sampling;

namespace Glm.Onnx.Runtime.ChatClient;

/// <summary>One chat turn to generate: the conversation, the tools offered, the template switches and sampling.</summary>
/// <param name="Messages">The conversation so far (GLM roles).</param>
public sealed record GlmChatRequest(IReadOnlyList<ChatMessage> Messages)
{
    /// <summary>Tools rendered into the prompt (and whose schemas type the parsed arguments).</summary>
    public IReadOnlyList<ToolDefinition> Tools { get; init; } = [];

    public GlmChatFormatOptions Format { get; init; } = GlmChatFormatOptions.Default;

    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;

    /// <summary>Most tokens to generate (reasoning included); the context may stop it earlier.</summary>
    public int MaxNewTokens { get; init; } = 1024;

    /// <summary>Speculative decoding: draft tokens per decode step (0 = off); see <see cref="Engine.GenerationRequest.SpeculativeTokens"/>.</summary>
    public int SpeculativeTokens { get; init; }

    /// <summary>Texts that end the reply; the matched text is not emitted.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>
    /// Forces a tool call: null lets the model decide, "" requires some tool, a name requires that tool. GLM has no
    /// constrained decoding, so the reply is started for the model: thinking off and "&lt;tool_call&gt;" (plus the
    /// name) written at the start of the assistant turn.
    /// </summary>
    public string? RequiredTool { get; init; }

    /// <summary>
    /// Structured output: the answer (after the reasoning block, which stays free text) follows this JSON Schema,
    /// JSON mode or GBNF grammar (docs/structured-output.md). Null: free text.
    /// </summary>
    public StructuredOutput? ResponseFormat { get; init; }

    /// <summary>Time limit for compiling the response format and tool-call grammars (null: the engine's 10 s); hitting
    /// it is a <see cref="Glm.Onnx.Grammar.GrammarException"/> naming <c>CompileTimeout</c>, before any generation.</summary>
    public TimeSpan? GrammarCompileTimeout { get; init; }
}
