namespace Glm.Onnx.Runtime.ChatClient;

/// <summary>The rendered prompt leaves no room to generate within the model's context or the KV cache.</summary>
public sealed class ContextLengthExceededException(int promptTokens, int limit)
    : ArgumentException(
        $"The prompt has {promptTokens} tokens, but this model accepts at most {limit} tokens in total (prompt + output), " +
        "leaving no room to generate. Shorten the conversation.")
{
    public int PromptTokens { get; } = promptTokens;

    public int Limit { get; } = limit;
}
