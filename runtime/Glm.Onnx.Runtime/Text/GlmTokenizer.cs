using System.Text;
using Glm.Onnx.Contracts.Text;
using Microsoft.ML.Tokenizers;

namespace Glm.Onnx.Runtime.Text;

/// <summary>
/// A Hugging Face byte-level BPE tokenizer (tokenizer.json + tokenizer_config.json) as GLM-5.x uses it.
/// Encoding: added / special tokens are cut out of the raw text first (never split by BPE), the rest is
/// normalized, pre-tokenized (Split regex + ByteLevel) and merged by Microsoft.ML.Tokenizers' BPE model.
/// Decoding: every token maps to bytes through the byte-level alphabet (added tokens to their own text), and
/// the bytes are read as UTF-8 with U+FFFD for invalid sequences. Thread-safe after loading.
/// </summary>
public sealed class GlmTokenizer
{
    public const string TokenizerFileName = "tokenizer.json";
    public const string ConfigFileName = "tokenizer_config.json";

    private readonly BpeTokenizer _bpe;
    // Pre-tokens longer than this many chars take the O(n log n) merge path instead of the library's.
    internal const int LongPieceThreshold = 256;

    private readonly Dictionary<string, int> _vocabulary;
    private readonly Dictionary<string, int> _addedByContent;
    private readonly Lazy<LongPieceBpe?> _longPieceBpe;
    private readonly byte[]?[] _tokenBytes;
    private readonly string?[] _tokenStrings;
    private readonly bool[] _isSpecial;
    private readonly TextNormalizer _normalizer;
    private readonly PreTokenizerPipeline _preTokenizer;
    private readonly AddedTokenSplitter _rawSplitter;
    private readonly AddedTokenSplitter _normalizedSplitter;
    private readonly bool _ignoreMerges;
    // Bytes per token at most, times the normalizer's shrink: 0 when no bound holds (see TokenCountLowerBound).
    private readonly double _maxBytesPerToken;

    private GlmTokenizer(TokenizerJson json, TokenizerConfig config)
    {
        Config = config;
        _normalizer = json.Normalizer;
        _preTokenizer = json.PreTokenizer;
        _ignoreMerges = json.IgnoreMerges;
        _vocabulary = json.Vocabulary;
        AddedTokens = json.AddedTokens;
        _addedByContent = json.AddedTokens.GroupBy(t => t.Content)
            .ToDictionary(g => g.Key, g => g.Last().Id, StringComparer.Ordinal);
        _longPieceBpe = new Lazy<LongPieceBpe?>(() => LongPieceBpe.Create(json.Vocabulary, json.Merges));
        _rawSplitter = new AddedTokenSplitter(json.AddedTokens.Where(t => !t.Normalized));
        _normalizedSplitter = new AddedTokenSplitter(json.AddedTokens.Where(t => t.Normalized));

        var size = Math.Max(json.Vocabulary.Count == 0 ? 0 : json.Vocabulary.Values.Max() + 1,
            json.AddedTokens.Count == 0 ? 0 : json.AddedTokens.Max(t => t.Id) + 1);
        VocabularySize = size;
        _tokenStrings = new string?[size];
        _tokenBytes = new byte[size][];
        _isSpecial = new bool[size];
        foreach (var (token, id) in json.Vocabulary)
            _tokenStrings[id] = token;
        foreach (var added in json.AddedTokens)
        {
            _tokenStrings[added.Id] = added.Content;
            _isSpecial[added.Id] = added.Special;
        }

        var scratch = new List<byte>();
        for (var id = 0; id < size; id++)
        {
            if (_tokenStrings[id] is not { } token)
                continue;
            scratch.Clear();
            ByteLevelAlphabet.AppendBytes(token, scratch);
            _tokenBytes[id] = [.. scratch];
        }

        // An added token covers its own text; one that strips neighbouring whitespace, or a fused unknown token,
        // can cover any amount, and then no bound holds.
        var maxTokenBytes = Math.Max(
            _tokenBytes.Max(b => b?.Length ?? 0),
            json.AddedTokens.Count == 0 ? 0 : json.AddedTokens.Max(t => Encoding.UTF8.GetByteCount(t.Content)));
        bool unbounded = json.AddedTokens.Any(t => t.LStrip || t.RStrip) || (json.UnknownToken is not null && json.FuseUnknown);
        _maxBytesPerToken = unbounded || json.Normalizer.MaxShrink is not { } shrink ? 0 : maxTokenBytes * shrink;

        SpecialTokens = json.AddedTokens.Where(t => t.Special)
            .ToDictionary(t => t.Content, t => t.Id, StringComparer.Ordinal);
        BosTokenId = IdOf(config.BosToken);
        EosTokenId = IdOf(config.EosToken);
        PadTokenId = IdOf(config.PadToken);
        Template = config.AddBosToken is not null || config.AddEosToken is not null
            ? new SpecialTokenTemplate(
                config.AddBosToken == true && BosTokenId is { } bos ? [bos] : [],
                config.AddEosToken == true && EosTokenId is { } eos ? [eos] : [])
            : json.PostProcessor;

        // The BPE model sees one pre-token at a time: no pre-tokenizer, normalizer or special tokens of its own.
        _bpe = BpeTokenizer.Create(new BpeOptions(json.Vocabulary)
        {
            Merges = json.Merges,
            ByteLevel = true,
            UnknownToken = json.UnknownToken,
            FuseUnknownTokens = json.FuseUnknown,
        });
    }

    /// <summary>The tokenizer_config.json fields (empty when the file is absent).</summary>
    public TokenizerConfig Config { get; }

    /// <summary>All added tokens, special or not, as tokenizer.json lists them.</summary>
    public IReadOnlyList<AddedToken> AddedTokens { get; }

    /// <summary>Added tokens flagged special (content -> id): the ones decoding can skip.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>One more than the largest token id (vocabulary and added tokens).</summary>
    public int VocabularySize { get; }

    public int? BosTokenId { get; }

    public int? EosTokenId { get; }

    public int? PadTokenId { get; }

    /// <summary>What <c>addSpecialTokens: true</c> adds around a sequence.</summary>
    public SpecialTokenTemplate Template { get; }

    /// <summary>Loads tokenizer.json and, when present, tokenizer_config.json from a directory.</summary>
    public static GlmTokenizer Load(string directory)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"tokenizer directory '{directory}' does not exist");
        var tokenizerPath = Path.Combine(directory, TokenizerFileName);
        if (!File.Exists(tokenizerPath))
            throw new FileNotFoundException($"'{directory}' has no {TokenizerFileName}", tokenizerPath);
        var configPath = Path.Combine(directory, ConfigFileName);
        return Load(tokenizerPath, File.Exists(configPath) ? configPath : null);
    }

    public static GlmTokenizer Load(string tokenizerJsonPath, string? tokenizerConfigPath)
    {
        var json = TokenizerJson.Load(tokenizerJsonPath);
        var config = tokenizerConfigPath is null ? TokenizerConfig.Empty : TokenizerConfig.Load(tokenizerConfigPath);
        return new GlmTokenizer(json, config);
    }

    /// <summary>
    /// Encodes text. Added tokens written in the text (e.g. "[gMASK]", "&lt;think&gt;") become their ids;
    /// <paramref name="addSpecialTokens"/> adds the template's BOS / EOS ids around the result.
    /// </summary>
    public int[] Encode(string text, bool addSpecialTokens = false) => Encode(text, [], addSpecialTokens);

    /// <summary>
    /// Encodes text with every added / special token written in it treated as plain text (the characters of
    /// "&lt;|user|&gt;" are BPE-encoded like any other text), as untrusted message content must be.
    /// </summary>
    public int[] EncodeAsPlainText(string text, bool addSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        return Encode(text, text.Length == 0 ? [] : [new LiteralSpan(0, text.Length)], addSpecialTokens);
    }

    /// <summary>
    /// Encodes text in which added tokens are matched everywhere except inside <paramref name="literalSpans"/>
    /// (sorted, non-overlapping): a rendered chat prompt whose markup yields control tokens while the messages'
    /// content stays plain text. Text on both sides of a span boundary is pre-tokenized together, so the ids equal
    /// <see cref="Encode(string, bool)"/>'s whenever the content spells no added token. Added tokens matched after
    /// normalization (tokenizer.json "normalized": true) are not matched in a run of text that touches a literal
    /// span (the GLM control tokens are all matched on the raw text).
    /// </summary>
    public int[] Encode(string text, IReadOnlyList<LiteralSpan> literalSpans, bool addSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(literalSpans);
        for (var k = 0; k < literalSpans.Count; k++)
        {
            var span = literalSpans[k];
            if (span.Start < 0 || span.Length < 0 || span.End > text.Length || (k > 0 && span.Start < literalSpans[k - 1].End))
                throw new ArgumentException(
                    $"literal span {k} [{span.Start}, {span.End}) is outside the {text.Length}-char text or not sorted after the previous one",
                    nameof(literalSpans));
        }

        var ids = new List<int>(text.Length / 3 + 4);
        if (addSpecialTokens)
            ids.AddRange(Template.Prefix);

        var segments = new List<TextSegment>();
        var normalizedSegments = new List<TextSegment>();
        var pieces = new List<TextPiece>();
        _rawSplitter.Split(text, 0, text.Length, literalSpans, segments);
        foreach (var segment in segments)
        {
            if (segment.IsToken)
            {
                ids.Add(segment.Id);
                continue;
            }

            var plain = text.Substring(segment.Start, segment.Length);
            var normalized = _normalizer.Normalize(plain);
            normalizedSegments.Clear();
            if (TouchesLiteral(literalSpans, segment.Start, segment.Start + segment.Length))
                normalizedSegments.Add(new TextSegment(-1, 0, normalized.Length));
            else
                _normalizedSplitter.Split(normalized, 0, normalized.Length, normalizedSegments);
            foreach (var inner in normalizedSegments)
            {
                if (inner.IsToken)
                {
                    ids.Add(inner.Id);
                    continue;
                }

                pieces.Clear();
                var innerText = inner.Start == 0 && inner.Length == normalized.Length
                    ? normalized
                    : normalized.Substring(inner.Start, inner.Length);
                _preTokenizer.Split(innerText, pieces);
                foreach (var piece in pieces)
                    EncodePiece(piece.Span, ids);
            }
        }

        if (addSpecialTokens)
            ids.AddRange(Template.Suffix);
        return [.. ids];
    }

    // Binary search for the first span ending after start: a prompt can hold thousands of messages.
    private static bool TouchesLiteral(IReadOnlyList<LiteralSpan> spans, int start, int end)
    {
        int lo = 0, hi = spans.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (spans[mid].End <= start)
                lo = mid + 1;
            else
                hi = mid;
        }

        return lo < spans.Count && spans[lo].Start < end;
    }

    /// <summary>
    /// A cheap lower bound on how many tokens <paramref name="text"/> encodes to, from its UTF-8 length and the
    /// longest token's bytes (0 when the tokenizer allows no bound): lets a server refuse a prompt that cannot fit
    /// the context without tokenizing all of it.
    /// </summary>
    public long TokenCountLowerBound(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _maxBytesPerToken <= 0 ? 0 : (long)(Encoding.UTF8.GetByteCount(text) / _maxBytesPerToken);
    }

    /// <summary>Decodes ids to text; invalid UTF-8 (e.g. half of a multi-byte character) becomes U+FFFD.</summary>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        var bytes = new List<byte>(ids.Length * 4);
        foreach (var id in ids)
        {
            if (skipSpecialTokens && IsSpecial(id))
                continue;
            bytes.AddRange(TokenBytes(id));
        }

        return Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
    }

    /// <summary>The raw bytes one token stands for (its UTF-8 text for added tokens).</summary>
    public ReadOnlySpan<byte> TokenBytes(int id)
    {
        if ((uint)id >= (uint)VocabularySize || _tokenBytes[id] is not { } bytes)
            throw new ArgumentOutOfRangeException(nameof(id),
                $"token id {id} is not in the vocabulary (ids 0..{VocabularySize - 1}, with gaps where no token is defined)");
        return bytes;
    }

    /// <summary>True for added tokens flagged special.</summary>
    public bool IsSpecial(int id) => (uint)id < (uint)VocabularySize && _isSpecial[id];

    /// <summary>The id of an added token or vocabulary entry (vocabulary strings are in byte-level form).</summary>
    public int? TokenToId(string token) =>
        _addedByContent.TryGetValue(token, out var added) ? added :
        _vocabulary.TryGetValue(token, out var id) ? id : null;

    /// <summary>The vocabulary string (byte-level form) or added-token content of an id.</summary>
    public string? IdToToken(int id) => (uint)id < (uint)VocabularySize ? _tokenStrings[id] : null;

    private int? IdOf(string? token) => token is null ? null : TokenToId(token);

    private void EncodePiece(ReadOnlySpan<char> piece, List<int> ids)
    {
        if (_ignoreMerges)
        {
            // Llama-3 style: a pre-token that is itself a vocabulary entry is not split by merges.
            var byteLevel = ByteLevelAlphabet.Encode(Encoding.UTF8.GetBytes(piece.ToString()));
            if (_vocabulary.TryGetValue(byteLevel, out var whole))
            {
                ids.Add(whole);
                return;
            }
        }

        if (piece.Length > LongPieceThreshold && _longPieceBpe.Value is { } longPiece)
            longPiece.Encode(piece, ids);
        else
            EncodeWithLibraryBpe(piece, ids);
    }

    internal void EncodeWithLibraryBpe(ReadOnlySpan<char> piece, List<int> ids) =>
        ids.AddRange(_bpe.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false));

    internal bool TryEncodeWithLongPieceBpe(ReadOnlySpan<char> piece, List<int> ids)
    {
        if (_longPieceBpe.Value is not { } longPiece)
            return false;
        longPiece.Encode(piece, ids);
        return true;
    }
}
