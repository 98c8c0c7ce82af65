using System.Globalization;
using System.Runtime.InteropServices;

namespace Glm.Onnx.DecodeBench;

/// <summary>
/// A native buffer of 1.0f values, aligned to 2 MiB and advised for transparent huge pages (<c>madvise</c>
/// MADV_HUGEPAGE; this kernel's THP mode is usually "madvise"), so a stream over it does not also walk 4 KiB page
/// tables: a 1 GiB buffer has 262,144 small pages, far more than the TLBs hold. Every element is written before use,
/// so reads hit committed memory, not the shared zero page.
/// </summary>
internal sealed unsafe partial class HugePageBuffer : IDisposable
{
    private const nuint HugePage = 2 << 20;
    private const int MadvHugePage = 14;
    private const int MadvNoHugePage = 15;

    public HugePageBuffer(long bytes, bool hugePages = true)
    {
        Bytes = bytes;
        Data = (float*)NativeMemory.AlignedAlloc((nuint)bytes, HugePage);
        // Advice only: where THP is off the buffer keeps small pages and the line printed says so.
        // small-pages mode (MADV_NOHUGEPAGE) shows what the huge pages are worth.
        _ = Madvise(Data, (nuint)bytes, hugePages ? MadvHugePage : MadvNoHugePage);
        long floats = bytes / sizeof(float);
        for (long i = 0; i < floats; i += 1 << 26)
            new Span<float>(Data + i, (int)Math.Min(1 << 26, floats - i)).Fill(1f);
    }

    public long Bytes { get; }

    public float* Data { get; private set; }

    /// <summary>MiB of this buffer's mapping that the kernel backs with huge pages (AnonHugePages in /proc/self/smaps).</summary>
    public long HugePageMiB()
    {
        ulong start = (ulong)Data;
        bool inside = false;
        long kb = 0;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-');
            int space = line.IndexOf(' ');
            if (dash > 0 && space > dash && ulong.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong lo)
                && ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong hi))
            {
                inside = lo < start + (ulong)Bytes && hi > start; // a mapping header line; the buffer may span several
                continue;
            }
            if (inside && line.StartsWith("AnonHugePages:", StringComparison.Ordinal))
                kb += long.Parse(line.AsSpan(14).Trim().ToString().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        return kb / 1024;
    }

    public void Dispose()
    {
        if (Data != null)
        {
            NativeMemory.AlignedFree(Data);
            Data = null;
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(void* address, nuint length, int advice);
}
