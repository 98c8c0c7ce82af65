namespace Glm.Onnx.Runtime.Text;

/// <summary>How a split keeps the delimiters it found (Hugging Face SplitDelimiterBehavior).</summary>
internal enum SplitBehavior
{
    Removed,
    Isolated,
    MergedWithPrevious,
    MergedWithNext,
    Contiguous,
}

/// <summary>
/// Turns the delimiter matches found in a piece into sub-pieces, with Hugging Face's rules: the piece is first
/// covered by alternating gaps and matches (invert swaps the roles), then merged by the behaviour, and empty
/// pieces are dropped.
/// </summary>
internal static class DelimiterSplitter
{
    public static void Split(TextPiece piece, List<(int Start, int Length)> matches, SplitBehavior behavior, bool invert,
        List<TextPiece> output)
    {
        if (matches.Count == 0 && !invert)
        {
            if (piece.Length > 0)
                output.Add(piece);
            return;
        }

        // Cover the piece with (start, end, isMatch) spans.
        var spans = new List<(int Start, int End, bool IsMatch)>(matches.Count * 2 + 1);
        var previous = piece.Start;
        foreach (var (start, length) in matches)
        {
            if (start != previous)
                spans.Add((previous, start, invert));
            spans.Add((start, start + length, !invert));
            previous = start + length;
        }

        var end = piece.Start + piece.Length;
        if (previous != end)
            spans.Add((previous, end, invert));

        var merged = Merge(spans, behavior);
        foreach (var (start, stop) in merged)
            if (stop > start)
                output.Add(new TextPiece(piece.Source, start, stop - start));
    }

    private static List<(int Start, int End)> Merge(List<(int Start, int End, bool IsMatch)> spans, SplitBehavior behavior)
    {
        var result = new List<(int Start, int End)>(spans.Count);
        switch (behavior)
        {
            case SplitBehavior.Removed:
                foreach (var s in spans)
                    if (!s.IsMatch)
                        result.Add((s.Start, s.End));
                break;
            case SplitBehavior.Isolated:
                foreach (var s in spans)
                    result.Add((s.Start, s.End));
                break;
            case SplitBehavior.MergedWithPrevious:
            {
                var previousMatch = false;
                foreach (var s in spans)
                {
                    if (s.IsMatch && !previousMatch && result.Count > 0)
                        result[^1] = (result[^1].Start, s.End);
                    else
                        result.Add((s.Start, s.End));
                    previousMatch = s.IsMatch;
                }

                break;
            }
            case SplitBehavior.MergedWithNext:
            {
                var previousMatch = false;
                for (var i = spans.Count - 1; i >= 0; i--)
                {
                    var s = spans[i];
                    if (s.IsMatch && !previousMatch && result.Count > 0)
                        result[^1] = (s.Start, result[^1].End);
                    else
                        result.Add((s.Start, s.End));
                    previousMatch = s.IsMatch;
                }

                result.Reverse();
                break;
            }
            case SplitBehavior.Contiguous:
            {
                var previousMatch = false;
                foreach (var s in spans)
                {
                    if (s.IsMatch == previousMatch && result.Count > 0)
                        result[^1] = (result[^1].Start, s.End);
                    else
                        result.Add((s.Start, s.End));
                    previousMatch = s.IsMatch;
                }

                break;
            }
        }

        return result;
    }
}
