namespace Glm.Onnx.Contracts.Text;

/// <summary>
/// The GPT-2 byte-level alphabet used by byte-level BPE vocabularies: every byte value maps to one printable
/// character so that vocabulary entries are plain strings. Printable Latin-1 bytes map to themselves; the other
/// 68 bytes (controls, space, DEL, NBSP, soft hyphen) map, in byte order, to U+0100 onward (space becomes 'Ġ').
/// Shared because the converter writes byte-level vocabularies (glm-convert synth --tokenizer) that the runtime reads.
/// </summary>
public static class ByteLevelAlphabet
{
    private static readonly char[] ByteToCharTable = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByteTable = BuildCharToByte(ByteToCharTable);

    /// <summary>The character that stands for <paramref name="value"/> in vocabulary strings.</summary>
    public static char ToChar(byte value) => ByteToCharTable[value];

    /// <summary>The byte a vocabulary character stands for, or false when the character is outside the alphabet.</summary>
    public static bool TryToByte(char c, out byte value) => CharToByteTable.TryGetValue(c, out value);

    /// <summary>Maps UTF-8 bytes to their vocabulary-string form.</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        return string.Create(bytes.Length, bytes.ToArray(), static (chars, source) =>
        {
            for (var i = 0; i < source.Length; i++)
                chars[i] = ByteToCharTable[source[i]];
        });
    }

    /// <summary>
    /// Appends the bytes a vocabulary string stands for. Like the Hugging Face ByteLevel decoder, a token that
    /// contains any character outside the alphabet (an added token such as "<｜User｜>") is taken as literal text
    /// and contributes its own UTF-8 bytes.
    /// </summary>
    public static void AppendBytes(string token, List<byte> destination)
    {
        foreach (var c in token)
        {
            if (!CharToByteTable.ContainsKey(c))
            {
                destination.AddRange(System.Text.Encoding.UTF8.GetBytes(token));
                return;
            }
        }

        foreach (var c in token)
            destination.Add(CharToByteTable[c]);
    }

    private static bool MapsToItself(int b) => b is >= 33 and <= 126 or >= 161 and <= 172 or >= 174 and <= 255;

    private static char[] BuildByteToChar()
    {
        var table = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
            table[b] = MapsToItself(b) ? (char)b : (char)next++;
        return table;
    }

    private static Dictionary<char, byte> BuildCharToByte(char[] byteToChar)
    {
        var map = new Dictionary<char, byte>(256);
        for (var b = 0; b < 256; b++)
            map[byteToChar[b]] = (byte)b;
        return map;
    }
}
