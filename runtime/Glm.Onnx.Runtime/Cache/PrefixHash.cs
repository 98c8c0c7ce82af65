namespace Glm.Onnx.Runtime.Cache;

/// <summary>
/// Chained hash of a full cache block: the hash of block i covers its tokens and the hash of block i-1, so equal hashes
/// mean equal whole prefixes (the allocator still compares the block's own tokens and parent hash to rule out a
/// collision on the block itself).
/// </summary>
public static class PrefixHash
{
    /// <summary>Parent hash of a sequence's first block.</summary>
    public const ulong Root = 0x9E3779B97F4A7C15UL;

    /// <summary>
    /// Parent hash of the first block of a sequence whose blocks also carry the MTP draft layer's rows: a separate
    /// chain, so that blocks with and without valid draft rows are never mistaken for each other.
    /// </summary>
    public const ulong DraftRoot = 0x6A09E667F3BCC909UL;

    public static ulong Of(ulong parent, ReadOnlySpan<int> tokens)
    {
        ulong h = Mix(parent ^ 0xD6E8FEB86659FD93UL);
        foreach (var token in tokens)
            h = Mix(h ^ (uint)token) + 0x9E3779B97F4A7C15UL;
        return Mix(h ^ (ulong)tokens.Length);
    }

    // SplitMix64 finaliser: a full-avalanche 64-bit mix.
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
