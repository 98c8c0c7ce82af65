using System.Numerics;
using System.Runtime.InteropServices;

namespace Glm.Onnx.Grammar;

/// <summary>Vector code for token masks: OR-ing slice masks and applying a mask to logits.</summary>
public static class MaskOps
{
    /// <summary>dst |= src over the common length.</summary>
    public static void Or(Span<ulong> dst, ReadOnlySpan<ulong> src)
    {
        var n = Math.Min(dst.Length, src.Length);
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var d = MemoryMarshal.Cast<ulong, Vector<ulong>>(dst[..n]);
            var s = MemoryMarshal.Cast<ulong, Vector<ulong>>(src[..n]);
            for (var k = 0; k < d.Length; k++)
                d[k] |= s[k];
            i = d.Length * Vector<ulong>.Count;
        }
        for (; i < n; i++)
            dst[i] |= src[i];
    }

    /// <summary>True when bit <paramref name="id"/> is set.</summary>
    public static bool IsAllowed(ReadOnlySpan<ulong> mask, int id) => (mask[id >> 6] & (1UL << (id & 63))) != 0;

    /// <summary>Sets logits of disallowed tokens to -infinity (bit i clear, i &lt; logits.Length).</summary>
    public static void Apply(ReadOnlySpan<ulong> mask, Span<float> logits)
    {
        var ninf = new Vector<float>(float.NegativeInfinity);
        var width = Vector<float>.Count;
        var i = 0;
        // Words that are all ones keep their 64 logits; all-zero words are filled a vector at a time.
        for (var w = 0; w < mask.Length && i < logits.Length; w++, i = w * 64)
        {
            var bits = mask[w];
            if (bits == ulong.MaxValue && i + 64 <= logits.Length)
                continue;
            var end = Math.Min(i + 64, logits.Length);
            if (bits == 0 && Vector.IsHardwareAccelerated)
            {
                var j = i;
                for (; j + width <= end; j += width)
                    ninf.CopyTo(logits[j..]);
                for (; j < end; j++)
                    logits[j] = float.NegativeInfinity;
                continue;
            }
            for (var j = i; j < end; j++)
                if ((bits & (1UL << (j - i))) == 0)
                    logits[j] = float.NegativeInfinity;
        }
    }

    /// <summary>Number of set bits.</summary>
    public static int Count(ReadOnlySpan<ulong> mask)
    {
        var c = 0;
        foreach (var w in mask)
            c += BitOperations.PopCount(w);
        return c;
    }
}
