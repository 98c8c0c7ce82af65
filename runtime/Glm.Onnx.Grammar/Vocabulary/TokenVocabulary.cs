using System.Text;

namespace Glm.Onnx.Grammar.Vocabulary;

/// <summary>
/// The tokenizer's tokens as byte strings, built once per tokenizer and shared by every compiled grammar. Tokens are
/// split into slices (docs/structured-output.md): tokens whose bytes are complete UTF-8 text without '"', '\' or
/// control characters, by character count (1-10, 11-30, 31+), each with its own trie and precomputed bit mask, and a
/// trie of all other tokens. Inside a JSON string the lexer can often take a whole slice, which is then OR-ed in
/// without walking it. Special tokens (EOS and the like) are never in the tries: the caller decides about them.
/// </summary>
public sealed class TokenVocabulary
{
    internal static readonly int[] SliceMaxChars = [10, 30, int.MaxValue];

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
        Rest = new TokenTrie(rest);
    }

    /// <summary>Number of token ids (mask bits).</summary>
    public int Size { get; }

    /// <summary>ulong words in a mask.</summary>
    public int MaskWords => (Size + 63) >> 6;

    internal TokenTrie[] Slices { get; }

    internal ulong[][] SliceMasks { get; }

    internal TokenTrie Rest { get; }

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
