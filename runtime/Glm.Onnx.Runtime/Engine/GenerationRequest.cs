using Glm.Onnx.Runtime.Constraints;
using Glm.Onnx.Runtime.Sampling;

namespace Glm.Onnx.Runtime.Engine;

/// <summary>One generation: a tokenised prompt, how to sample, and when to stop.</summary>
/// <param name="PromptIds">The prompt's token ids (at least one).</param>
public sealed record GenerationRequest(IReadOnlyList<int> PromptIds)
{
    /// <summary>Most draft tokens one verify step may carry (<see cref="SpeculativeTokens"/>).</summary>
    public const int MaxSpeculativeTokens = 16;

    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;

    /// <summary>Most tokens to generate; the model's maximum length and the cache capacity may stop it earlier.</summary>
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>Token ids that end generation (in addition to the model's eos ids unless <see cref="IgnoreEos"/>).</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <summary>Texts that end generation; the matched text is not emitted. Needs a token decoder.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Keep generating through the model's eos ids.</summary>
    public bool IgnoreEos { get; init; }

    /// <summary>Attach the raw logits row that chose each token to it (a copy per token; for verification).</summary>
    public bool ReturnLogits { get; init; }

    /// <summary>Attach the logits of every prompt position, [prompt, vocab], to the first token (verification).</summary>
    public bool ReturnPromptLogits { get; init; }

    /// <summary>A grammar the output must follow (structured output), or null for free text.</summary>
    public GrammarConstraint? Constraint { get; init; }

    /// <summary>
    /// Speculative decoding: draft tokens per decode step (K, 0 = off, at most <see cref="MaxSpeculativeTokens"/>),
    /// proposed by the engine's drafter (the model's MTP layer) and verified in one target step. Greedy output is
    /// token-identical to K = 0. Needs a model with an MTP stage (or an engine given another drafter).
    /// </summary>
    public int SpeculativeTokens { get; init; }
}
