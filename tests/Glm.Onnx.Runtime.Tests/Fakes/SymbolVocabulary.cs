using Glm.Onnx.Grammar.Vocabulary;

namespace Glm.Onnx.Tests.Fakes;

/// <summary>
/// The 40-token vocabulary of the grammar tests: ids 0..25 spell 'a'..'z', 26..35 '0'..'9', 36 '{', 37 '}', id 38 is
/// either ':' or a control token without bytes (like GLM's <c>&lt;tool_call&gt;</c>), id 39 is the eos token. Paired
/// with <see cref="FakeModelExecutor"/>'s reference logits, greedy outputs under a grammar follow from
/// <see cref="BestAllowed"/>.
/// </summary>
public sealed class SymbolVocabulary
{
    public const int Size = 40;
    public const int Id38 = 38;
    public const int Eos = 39;

    private SymbolVocabulary(bool id38IsControl)
    {
        Id38IsControl = id38IsControl;
        Tokens = new TokenVocabulary(Size, id => IsControl(id) ? null : [Spell(id)], IsControl);
    }

    /// <summary>Id 38 spells ':'.</summary>
    public static SymbolVocabulary WithColon { get; } = new(id38IsControl: false);

    /// <summary>Id 38 is a control token without bytes.</summary>
    public static SymbolVocabulary WithControl38 { get; } = new(id38IsControl: true);

    public bool Id38IsControl { get; }

    public TokenVocabulary Tokens { get; }

    public bool IsControl(int id) => id == Eos || (Id38IsControl && id == Id38);

    public static bool IsLetter(int id) => id < 26;

    public static bool IsDigit(int id) => id is >= 26 and <= 35;

    /// <summary>The byte of a spelled id (ids 0..38; id 38 as ':').</summary>
    public static byte Spell(int id) => id switch
    {
        < 26 => (byte)('a' + id),
        < 36 => (byte)('0' + id - 26),
        36 => (byte)'{',
        37 => (byte)'}',
        _ => (byte)':',
    };

    /// <summary>The text of some ids: eos dropped, a control id 38 written as <paramref name="control38"/>.</summary>
    public string Text(IEnumerable<int> ids, string control38 = "") =>
        string.Concat(ids.Where(i => i != Eos).Select(i => Id38IsControl && i == Id38 ? control38 : ((char)Spell(i)).ToString()));

    /// <summary>The token a greedy / top-k=1 sampler must pick: the largest reference logit among the allowed ids.</summary>
    public static int BestAllowed(IReadOnlyList<int> history, Func<int, bool> allowed)
    {
        var logits = new float[Size];
        FakeModelExecutor.ReferenceLogits(history.ToArray(), logits);
        int best = -1;
        for (int id = 0; id < Size; id++)
            if (allowed(id) && (best < 0 || logits[id] > logits[best]))
                best = id;
        return best;
    }
}
