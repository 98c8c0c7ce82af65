using System.Buffers;

namespace Glm.Onnx.Runtime.Text;

/// <summary>One run of input text: either an added token (Id >= 0) or plain text to normalize and BPE-encode.</summary>
internal readonly record struct TextSegment(int Id, int Start, int Length)
{
    public bool IsToken => Id >= 0;
}

/// <summary>
/// Finds added tokens in text the way Hugging Face's AddedVocabulary does: leftmost match first, the longest
/// token at that position, honouring single_word (no word character on either side) and lstrip / rstrip (the
/// match swallows neighbouring whitespace). Scans with a first-character search, so it is linear in the text.
/// </summary>
internal sealed class AddedTokenSplitter
{
    private readonly Dictionary<char, AddedToken[]> _byFirstChar;
    private readonly SearchValues<char> _firstChars;

    public AddedTokenSplitter(IEnumerable<AddedToken> tokens)
    {
        _byFirstChar = tokens
            .Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
        _firstChars = SearchValues.Create([.. _byFirstChar.Keys]);
        IsEmpty = _byFirstChar.Count == 0;
    }

    public bool IsEmpty { get; }

    public void Split(string text, int start, int length, List<TextSegment> output) =>
        Split(text, start, length, [], output);

    /// <summary>
    /// Splits like <see cref="Split(string, int, int, List{TextSegment})"/>, but a token whose text overlaps one of
    /// <paramref name="literals"/> (sorted, non-overlapping) is not matched: those characters stay plain text.
    /// </summary>
    public void Split(string text, int start, int length, IReadOnlyList<LiteralSpan> literals, List<TextSegment> output)
    {
        var end = start + length;
        var plainStart = start;
        var i = start;
        var literal = 0;
        while (i < end)
        {
            var next = IsEmpty ? -1 : text.AsSpan(i, end - i).IndexOfAny(_firstChars);
            if (next < 0)
                break;
            i += next;
            if (!TryMatchAt(text, i, end, out var token) || OverlapsLiteral(literals, ref literal, i, i + token.Content.Length))
            {
                i++;
                continue;
            }

            var matchStart = i;
            var matchEnd = i + token.Content.Length;
            if (token.LStrip)
            {
                while (matchStart > plainStart && char.IsWhiteSpace(text[matchStart - 1]))
                    matchStart--;
            }

            if (token.RStrip)
            {
                while (matchEnd < end && char.IsWhiteSpace(text[matchEnd]))
                    matchEnd++;
            }

            if (matchStart > plainStart)
                output.Add(new TextSegment(-1, plainStart, matchStart - plainStart));
            output.Add(new TextSegment(token.Id, matchStart, matchEnd - matchStart));
            plainStart = i = matchEnd;
        }

        if (end > plainStart)
            output.Add(new TextSegment(-1, plainStart, end - plainStart));
    }

    // Positions only grow during one scan, so the cursor into the sorted literal spans only moves forward.
    private static bool OverlapsLiteral(IReadOnlyList<LiteralSpan> literals, ref int cursor, int start, int end)
    {
        while (cursor < literals.Count && literals[cursor].End <= start)
            cursor++;
        return cursor < literals.Count && literals[cursor].Start < end;
    }

    private bool TryMatchAt(string text, int position, int end, out AddedToken token)
    {
        foreach (var candidate in _byFirstChar[text[position]])
        {
            var content = candidate.Content;
            if (content.Length > end - position || !text.AsSpan(position, content.Length).SequenceEqual(content))
                continue;
            if (candidate.SingleWord &&
                ((position > 0 && IsWordChar(text[position - 1])) ||
                 (position + content.Length < text.Length && IsWordChar(text[position + content.Length]))))
                continue;
            token = candidate;
            return true;
        }

        token = null!;
        return false;
    }

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';
}
