using Glm.Onnx.Grammar;

namespace Glm.Onnx.Runtime.Constraints;

/// <summary>
/// Constrains a request's output to a compiled grammar (docs/structured-output.md): before each sampling step the
/// tokens the grammar cannot continue with get -inf logits, so temperature, top-k/p and penalties only see allowed
/// tokens; the request's stop ids are allowed only where the grammar may end.
/// </summary>
/// <param name="Grammar">The compiled grammar (immutable; shared by every request that uses it).</param>
public sealed record GrammarConstraint(CompiledGrammar Grammar)
{
    /// <summary>
    /// When set, the output is free until this token is generated and constrained after it (GLM's "&lt;/think&gt;":
    /// the reasoning block stays free text, the answer follows the grammar). Null: constrained from the first token.
    /// </summary>
    public int? StartAfterTokenId { get; init; }

    /// <summary>
    /// With <see cref="StartAfterTokenId"/>: once the grammar is complete (it accepts and nothing may follow), the output
    /// is free again, and the next start token opens a fresh parse. GLM's "&lt;tool_call&gt;" under tool_choice auto
    /// with strict tools: every call the model opens follows the tool-call grammar, the text around calls stays free.
    /// </summary>
    public bool Reopens { get; init; }

    /// <summary>
    /// Without <see cref="Reopens"/>: ids the free block before <see cref="StartAfterTokenId"/> may not contain, besides
    /// the stop ids (which it never may: the answer must follow). The chat generator lists the markup that would end or
    /// derail GLM's reply there (turn tags, "&lt;tool_call&gt;"), so the reasoning cannot end the reply without the answer.
    /// </summary>
    public IReadOnlyList<int> ExcludedBeforeStart { get; init; } = [];

    /// <summary>
    /// The tokenizer's canonical tokenization of a text (no special tokens). When set, the engine jump-forwards: where
    /// the grammar forces a byte run, the tokens of its tokenization that lie wholly inside the run (all but the last,
    /// which might merge with what follows) are appended without sampling (docs/structured-output.md).
    /// </summary>
    public Func<string, IReadOnlyList<int>>? Tokenize { get; init; }

    /// <summary>
    /// Tool calls as the other way to answer (a response format together with tools under tool_choice auto): where the
    /// answer starts, the model may write <see cref="ToolCallAlternative.StartTokenId"/> instead of the grammar's first
    /// token; the reply is then tool calls, each under <see cref="ToolCallAlternative.Grammar"/>, and nothing else.
    /// Otherwise it is content under <see cref="Grammar"/> (docs/structured-output.md). Null: the grammar only.
    /// </summary>
    public ToolCallAlternative? ToolCalls { get; init; }
}

/// <summary>The tool calls a reply may consist of instead of the constrained content.</summary>
/// <param name="StartTokenId">The token that opens a call (GLM's "&lt;tool_call&gt;").</param>
/// <param name="Grammar">One call after that token, up to and with "&lt;/tool_call&gt;" (complete when it ends).</param>
public sealed record ToolCallAlternative(int StartTokenId, CompiledGrammar Grammar);
