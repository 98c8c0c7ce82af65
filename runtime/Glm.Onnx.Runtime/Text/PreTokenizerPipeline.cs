using System.Text.Json;

namespace Glm.Onnx.Runtime.Text;

/// <summary>A slice of a string: one pre-token (or a piece on its way to becoming pre-tokens).</summary>
internal readonly record struct TextPiece(string Source, int Start, int Length)
{
    public ReadOnlySpan<char> Span => Source.AsSpan(Start, Length);

    public static TextPiece Whole(string text) => new(text, 0, text.Length);
}

/// <summary>
/// The tokenizer.json "pre_tokenizer" section: a sequence of splitting steps, each applied to every piece the
/// previous step produced, exactly like Hugging Face's PreTokenizedString. Supported steps: Split (regex or
/// literal, every delimiter behaviour, invert), ByteLevel (optional GPT-2 regex and prefix space; the byte
/// mapping itself happens in the BPE model) and Digits.
/// </summary>
internal sealed class PreTokenizerPipeline
{
    private const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly IStep[] _steps;

    private PreTokenizerPipeline(IStep[] steps, bool hasByteLevel)
    {
        _steps = steps;
        HasByteLevel = hasByteLevel;
    }

    /// <summary>True when a ByteLevel step is present, i.e. the vocabulary is byte-level.</summary>
    public bool HasByteLevel { get; }

    public static PreTokenizerPipeline FromJson(JsonElement? section, string file)
    {
        var steps = new List<IStep>();
        var hasByteLevel = false;
        if (section is not null)
            Add(section.Value, "pre_tokenizer", file, steps, ref hasByteLevel);
        return new PreTokenizerPipeline([.. steps], hasByteLevel);
    }

    /// <summary>Splits <paramref name="text"/> into pre-tokens, appending them to <paramref name="output"/>.</summary>
    public void Split(string text, List<TextPiece> output)
    {
        if (text.Length == 0)
            return;
        var current = new List<TextPiece> { TextPiece.Whole(text) };
        var next = new List<TextPiece>();
        var scratch = new List<(int Start, int Length)>();
        foreach (var step in _steps)
        {
            next.Clear();
            foreach (var piece in current)
                step.Apply(piece, next, scratch);
            (current, next) = (next, current);
        }

        output.AddRange(current);
    }

    private static void Add(JsonElement spec, string path, string file, List<IStep> steps, ref bool hasByteLevel)
    {
        var type = JsonFields.TypeOf(spec, file, path);
        switch (type)
        {
            case "Sequence":
                foreach (var (item, itemPath) in JsonFields.Items(spec, "pretokenizers", file, path))
                    Add(item, itemPath, file, steps, ref hasByteLevel);
                break;
            case "Split":
            {
                var regex = SplitPattern.Compile(JsonFields.Required(spec, "pattern", file, path), file, path + ".pattern");
                var behavior = ParseBehavior(JsonFields.RequiredString(spec, "behavior", file, path), file, path);
                var invert = JsonFields.OptionalBool(spec, "invert", false, file, path);
                steps.Add(new RegexSplitStep(new CodePointRegex(regex), behavior, invert));
                break;
            }
            case "ByteLevel":
            {
                hasByteLevel = true;
                var prefixSpace = JsonFields.OptionalBool(spec, "add_prefix_space", false, file, path);
                var useRegex = JsonFields.OptionalBool(spec, "use_regex", true, file, path);
                if (prefixSpace)
                    steps.Add(new PrefixSpaceStep());
                if (useRegex)
                    steps.Add(new RegexSplitStep(
                        new CodePointRegex(SplitPattern.Build(Gpt2Pattern, file, path)), SplitBehavior.Isolated, false));
                break;
            }
            case "Digits":
            {
                var individual = JsonFields.OptionalBool(spec, "individual_digits", false, file, path);
                steps.Add(new DigitSplitStep(individual ? SplitBehavior.Isolated : SplitBehavior.Contiguous));
                break;
            }
            default:
                throw new TokenizerFormatException(
                    $"{file}: '{path}.type' is '{type}', which this loader does not implement; " +
                    "expected one of Sequence, Split, ByteLevel, Digits");
        }
    }

    private static SplitBehavior ParseBehavior(string value, string file, string path) => value switch
    {
        "Removed" => SplitBehavior.Removed,
        "Isolated" => SplitBehavior.Isolated,
        "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
        "MergedWithNext" => SplitBehavior.MergedWithNext,
        "Contiguous" => SplitBehavior.Contiguous,
        _ => throw new TokenizerFormatException(
            $"{file}: '{path}.behavior' is '{value}'; expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous"),
    };

    private interface IStep
    {
        void Apply(TextPiece piece, List<TextPiece> output, List<(int Start, int Length)> scratch);
    }

    private sealed class RegexSplitStep(CodePointRegex regex, SplitBehavior behavior, bool invert) : IStep
    {
        public void Apply(TextPiece piece, List<TextPiece> output, List<(int Start, int Length)> scratch)
        {
            scratch.Clear();
            regex.FindMatches(piece.Source, piece.Start, piece.Length, scratch);
            DelimiterSplitter.Split(piece, scratch, behavior, invert, output);
        }
    }

    private sealed class DigitSplitStep(SplitBehavior behavior) : IStep
    {
        public void Apply(TextPiece piece, List<TextPiece> output, List<(int Start, int Length)> scratch)
        {
            // Every numeric char is one delimiter match (Rust char::is_numeric: Nd, Nl, No).
            scratch.Clear();
            var span = piece.Span;
            for (var i = 0; i < span.Length; i++)
                if (char.IsNumber(span[i]))
                    scratch.Add((piece.Start + i, 1));
            DelimiterSplitter.Split(piece, scratch, behavior, false, output);
        }
    }

    private sealed class PrefixSpaceStep : IStep
    {
        public void Apply(TextPiece piece, List<TextPiece> output, List<(int Start, int Length)> scratch) =>
            output.Add(piece.Length > 0 && piece.Span[0] == ' ' ? piece : TextPiece.Whole(" " + piece.Span.ToString()));
    }
}
