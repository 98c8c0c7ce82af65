using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.Tests.Fakes;

/// <summary>
/// Policies for <see cref="ScriptedExecutor"/> written in text: what the "model" writes after the last
/// &lt;|assistant|&gt; token. The script includes the generation prompt's own tail ("&lt;think&gt;" with thinking on,
/// "&lt;think&gt;&lt;/think&gt;" with it off), so the policy continues wherever the prompt stopped; a history that
/// leaves the script ends the turn with &lt;|endoftext|&gt;.
/// </summary>
public sealed class ChatScripts(GlmTokenizer tokenizer)
{
    public GlmTokenizer Tokenizer { get; } = tokenizer;

    public int Id(string special) => GlmSpecialTokens.RequireId(Tokenizer, special);

    public int[] Tokens(string text) => Tokenizer.Encode(text, addSpecialTokens: false);

    /// <summary>After &lt;|assistant|&gt; the model writes <paramref name="script"/>, chosen by the history.</summary>
    public Func<IReadOnlyList<int>, int> AfterAssistant(Func<IReadOnlyList<int>, string> script)
    {
        int assistant = Id(GlmSpecialTokens.Assistant);
        int end = Id(GlmSpecialTokens.EndOfText);
        return history =>
        {
            int a = LastIndexOf(history, assistant);
            if (a < 0)
                return end;
            var tokens = Tokens(script(history));
            int generated = history.Count - a - 1;
            for (int i = 0; i < generated; i++)
                if (i >= tokens.Length || history[a + 1 + i] != tokens[i])
                    return end;
            return generated < tokens.Length ? tokens[generated] : end;
        };
    }

    public Func<IReadOnlyList<int>, int> Fixed(string script) => AfterAssistant(_ => script);

    /// <summary>The text of the last user turn (between the last &lt;|user|&gt; and the following &lt;|assistant|&gt;).</summary>
    public string LastUserText(IReadOnlyList<int> history)
    {
        int user = LastIndexOf(history, Id(GlmSpecialTokens.User));
        int assistant = LastIndexOf(history, Id(GlmSpecialTokens.Assistant));
        return user < 0 || assistant < user ? "" : Tokenizer.Decode(history.Skip(user + 1).Take(assistant - user - 1).ToArray());
    }

    public string Text(IReadOnlyList<int> history) => Tokenizer.Decode(history.ToArray());

    public static int LastIndexOf(IReadOnlyList<int> history, int id)
    {
        for (int i = history.Count - 1; i >= 0; i--)
            if (history[i] == id)
                return i;
        return -1;
    }
}
