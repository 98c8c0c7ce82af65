namespace Glm.Onnx.Runtime.ChatClient;

/// <summary>The rendered prompt leaves no room to generate within the model's context or the KV cache.</summary>
/// <param name="promptTokens">The prompt's token count, or a lower bound on it when <paramref name="atLeast"/>.</param>
/// <param name="limit">Tokens the model accepts in total.</param>
/// <param name="atLeast">True when the prompt was refused from its length, before it was tokenized.</param>
public sealed class ContextLengthExceededException(int promptTokens, int limit, bool atLeast = false)
    : ArgumentException(
        $"The prompt has {(atLeast ? "at least " : "")}{promptTokens} tokens, but this model accepts at most {limit} tokens in total (prompt + output), " +
        "leaving no room to generate. Shorten the conversation.")
{
    public int PromptTokens { get; } = promptTokens;

    public int Limit { get; } = limit;
}
