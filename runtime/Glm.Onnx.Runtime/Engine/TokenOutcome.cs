namespace Glm.Onnx.Runtime.Engine;

/// <summary>What the per-token steps made of one sampled token, before it is published.</summary>
/// <param name="TokenId">The sampled id.</param>
/// <param name="Text">The text to stream for it (decoded, cut at a stop string, plus the flushed tail at the end).</param>
/// <param name="FinishReason">Set when this token ends the request.</param>
/// <param name="Usage">Set when this token ends the request.</param>
/// <param name="IsFirst">True for the request's first sampled token.</param>
internal readonly record struct TokenOutcome(int TokenId, string Text, FinishReason? FinishReason, GenerationUsage? Usage, bool IsFirst);
