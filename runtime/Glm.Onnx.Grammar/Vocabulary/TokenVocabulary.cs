using System.Text;

namespace Glm.Onnx.Grammar.Vocabulary;

/// <summary>
/// The tokenizer's tokens as byte strings, built once per tokenizer and shared by every compiled grammar. Tokens are
/// split into slices (docs/structured-output.md): tokens whose bytes are complete UTF-8 text without '"', '\' or
/// control characters, by character count (one slice per count up to 12, then 13-15, 16-20, 21+), each with its own
/// trie and precomputed bit mask, and a trie of all other tokens. Inside a JSON string the lexer can often take a whole
/// slice, which is then OR-ed in without walking it; inside a string with k characters left, the slices up to k are
/// taken whole and the longer ones refused whole, which is why the short counts get a slice each. Special tokens (EOS and the like) are never in the tries: the caller decides about them.
/// </summary>
public sealed class TokenVocabulary
{
    internal static readonly int[] SliceMaxChars = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 20, int.MaxValue];

    /// <summary>Per slice, the fewest characters its tokens have.</summary>
    internal static readonly int[] SliceMinChars = SliceMaxChars.Select((_, i) => i == 0 ? 1 : SliceMaxChars[i - 1] + 1).ToArray();

    private readonly byte[]?[] _bytes;

    public TokenVocabulary(int size, Func<int, byte[]?> tokenBytes, Func<int, bool>? excluded = null)
    {
        if (size <= 0)
            throw new ArgumentException("vocabulary size must be positive", nameof(size));
        Size = size;
        _bytes = new byte[]?[size];
        var slices = new List<(byte[], int)>[SliceMaxChars.Length];
        for (var i = 0; i < slices.Length; i++)
            slices[i] = new();
        var rest = new List<(byte[], int)>();
        SliceMasks = new ulong[SliceMaxChars.Length][];
        for (var i = 0; i < SliceMasks.Length; i++)
            SliceMasks[i] = new ulong[MaskWords];
        for (var id = 0; id < size; id++)
        {
            if (excluded?.Invoke(id) == true)
                continue;
            var b = tokenBytes(id);
            if (b is null || b.Length == 0)
                continue;
            _bytes[id] = b;
            var chars = SafeCharCount(b);
            if (chars <= 0)
            {
                rest.Add((b, id));
                continue;
            }
            var s = 0;
            while (chars > SliceMaxChars[s])
                s++;
            slices[s].Add((b, id));
            SliceMasks[s][id >> 6] |= 1UL << (id & 63);
        }
        Slices = slices.Select(s => new TokenTrie(s)).ToArray();
        SafeText = new TokenTrie(slices.SelectMany(s => s).ToList());
        SliceCounts = slices.Select(s => s.Count).ToArray();
        SlicePrefixCounts = new int[SliceCounts.Length];
        for (var i = 0; i < SliceCounts.Length; i++)
            SlicePrefixCounts[i] = SliceCounts[i] + (i == 0 ? 0 : SlicePrefixCounts[i - 1]);
        SlicePrefixMasks = new ulong[SliceMasks.Length][];
        for (var i = 0; i < SliceMasks.Length; i++)
        {
            SlicePrefixMasks[i] = i == 0 ? SliceMasks[0] : (ulong[])SlicePrefixMasks[i - 1].Clone();
            if (i > 0)
                MaskOps.Or(SlicePrefixMasks[i], SliceMasks[i]);
        }
        Rest = new TokenTrie(rest);
    }

    /// <summary>Number of token ids (mask bits).</summary>
    public int Size { get; }

    /// <summary>ulong words in a mask.</summary>
    public int MaskWords => (Size + 63) >> 6;

    internal TokenTrie[] Slices { get; }

    internal ulong[][] SliceMasks { get; }

    /// <summary>Per slice i, the union of the masks of slices 0..i: the usual case inside a string takes a run of
    /// slices from the first, and one OR of this costs what one slice's OR costs.</summary>
    internal ulong[][] SlicePrefixMasks { get; }

    /// <summary>Tokens per slice, and in slices 0..i.</summary>
    internal int[] SliceCounts { get; }

    internal int[] SlicePrefixCounts { get; }

    internal TokenTrie Rest { get; }

    /// <summary>All slices' tokens in one trie: a state that takes no slice whole and refuses none walks this once
    /// instead of every slice's trie.</summary>
    internal TokenTrie SafeText { get; }

    /// <summary>The tries a mask may walk, by index: the slices, then <see cref="Rest"/>, then <see cref="SafeText"/>.</summary>
    internal TokenTrie Trie(int index) => index < Slices.Length ? Slices[index] : index == Slices.Length ? Rest : SafeText;

    /// <summary>The bytes of a token, or empty for excluded or undefined ids.</summary>
    public ReadOnlySpan<byte> Bytes(int id) => (uint)id < (uint)Size ? _bytes[id] : null;

    /// <summary>Characters of a token that is complete UTF-8 with no '"', '\' or control character; 0 otherwise.</summary>
    private static int SafeCharCount(byte[] bytes)
    {
        var chars = 0;
        var span = bytes.AsSpan();
        while (!span.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(span, out var rune, out var used) != System.Buffers.OperationStatus.Done)
                return 0;
            if (rune.Value < 0x20 || rune.Value == '"' || rune.Value == '\\')
                return 0;
            chars++;
            span = span[used..];
        }
        return chars;
    }
}
