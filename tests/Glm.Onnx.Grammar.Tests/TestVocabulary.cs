using System.Text;
using Glm.Onnx.Grammar;
using Glm.Onnx.Grammar.Vocabulary;

namespace Glm.Onnx.Grammar.Tests;

/// <summary>
/// A small byte-level vocabulary: every single byte (so any text can be spelled), some multi-byte JSON pieces, and
/// safe text of many character counts, and tokens that split a UTF-8 character ("a\xC3" + "\xA9b" spell "aéb"). The last id is a special token.
/// </summary>
internal static class TestVocabulary
{
    public static readonly string[] Words =
    [
        "{\"", "\":", "\",\"", "\"}", "name", "age", "true", "false", "null", "12", "345", "\":\"", "},{", "[{", "}]",
        "hello world", "abcdefghijklmnopqrstuvwxyz0123456789", "é", "日本", "\\n", "\\\"",
        // Safe text of lengths that fall in different vocabulary slices (one per count up to 12, then ranges).
        "abcdefgh", "0123456789ab", "abcdefghijklmn", "abcdefghijklmnopq", "日本語のテキスト",
    ];

    public static readonly byte[][] Partial = [[(byte)'a', 0xC3], [0xA9, (byte)'b']];

    public static readonly int SpecialId = 256 + Words.Length + Partial.Length;

    public static readonly TokenVocabulary Instance = Build();

    public static int IdOf(string word) => 256 + Array.IndexOf(Words, word);

    public static int PartialId(int i) => 256 + Words.Length + i;

    private static TokenVocabulary Build()
    {
        var tokens = new List<byte[]>();
        for (var b = 0; b < 256; b++)
            tokens.Add([(byte)b]);
        tokens.AddRange(Words.Select(w => Encoding.UTF8.GetBytes(w)));
        tokens.AddRange(Partial);
        tokens.Add(Encoding.UTF8.GetBytes("<|endoftext|>"));
        return new TokenVocabulary(tokens.Count, id => tokens[id], id => id == SpecialId);
    }

    public static CompiledGrammar Schema(string schema) => GrammarCompiler.CompileJsonSchema(schema, Instance);

    /// <summary>Feeds <paramref name="text"/> one byte token at a time, checking the mask agrees with Advance at
    /// every step; true when every byte is allowed and the end is accepted.</summary>
    public static bool Accepts(CompiledGrammar g, string text)
    {
        var state = g.NewState();
        var mask = new ulong[Instance.MaskWords];
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            state.ComputeMask(mask);
            var allowed = MaskOps.IsAllowed(mask, b);
            var probe = state.Clone();
            Assert.Equal(allowed, probe.AdvanceBytes([b]));
            if (!allowed)
                return false;
            Assert.True(state.Advance(b));
        }
        return state.IsAccepting;
    }
}
