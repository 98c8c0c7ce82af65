using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Glm.Onnx.DecodeBench;

/// <summary>
/// One way of reading a chunk: vector width (256 or 512 bits), how many independent sequential streams the chunk is
/// split into (each a contiguous part, read in lock-step, so a core has misses in flight on several pages at once),
/// how many vector loads (each its own accumulator) one step of a stream issues (4 or 8: 8 x 512 bits = 8 cache lines
/// per step), whether each stream software-prefetches <see cref="PrefetchBytes"/> ahead, and whether each reader
/// thread streams its own contiguous part of the buffer (<see cref="OwnPart"/>) instead of taking the next 16 MiB
/// chunk from a shared counter (<see cref="ReadTeam"/>). Independent
/// accumulators keep the adds off the critical path. Per-lane partial sums stay below 2^24, so the sum of 1.0f
/// values is exact.
/// </summary>
internal sealed unsafe record StreamPattern(int Bits, int Streams, bool Prefetch, int Loads = 4, bool OwnPart = false)
{
    public const int PrefetchBytes = 2048;

    public string Name =>
        $"{(Bits == 512 ? "avx512" : "avx2")} x{Loads}, {Streams} stream{(Streams > 1 ? "s" : "")}/thread{(Prefetch ? ", prefetch" : "")}{(OwnPart ? ", own part" : "")}";

    /// <summary>The patterns this CPU can run; the first is the old probe (one 256-bit stream, no prefetch).</summary>
    public static IEnumerable<StreamPattern> All()
    {
        yield return new StreamPattern(256, 1, false);
        yield return new StreamPattern(256, 4, true);
        yield return new StreamPattern(256, 1, false, 8);
        if (!Vector512.IsHardwareAccelerated)
            yield break;
        yield return new StreamPattern(512, 1, false);
        yield return new StreamPattern(512, 2, false);
        yield return new StreamPattern(512, 4, true);
        yield return new StreamPattern(512, 1, false, 8);
        yield return new StreamPattern(512, 2, false, 8);
        yield return new StreamPattern(512, 1, true, 8);
        yield return new StreamPattern(512, 1, false, 8, OwnPart: true);
    }

    public static IEnumerable<int> Widths() => Vector512.IsHardwareAccelerated ? [256, 512] : [256];

    public double Sum(float* chunk, long floats) => (Bits, Loads) switch
    {
        (512, 8) => Sum512x8(chunk, floats),
        (512, _) => Sum512(chunk, floats),
        (_, 8) => Sum256x8(chunk, floats),
        _ => Sum256(chunk, floats),
    };

    private double Sum256(float* chunk, long floats)
    {
        long per = floats / Streams;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (long i = 0; i < per; i += 32)
        {
            for (int s = 0; s < Streams; s++)
            {
                float* q = chunk + s * per + i;
                if (Prefetch && Sse.IsSupported)
                {
                    Sse.Prefetch0((byte*)q + PrefetchBytes);
                    Sse.Prefetch0((byte*)q + PrefetchBytes + 64);
                }
                a0 += Vector256.Load(q);
                a1 += Vector256.Load(q + 8);
                a2 += Vector256.Load(q + 16);
                a3 += Vector256.Load(q + 24);
            }
        }
        return Vector256.Sum(a0 + a1) + (double)Vector256.Sum(a2 + a3);
    }

    private double Sum256x8(float* chunk, long floats)
    {
        long per = floats / Streams;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        for (long i = 0; i < per; i += 64)
        {
            for (int s = 0; s < Streams; s++)
            {
                float* q = chunk + s * per + i;
                a0 += Vector256.Load(q);
                a1 += Vector256.Load(q + 8);
                a2 += Vector256.Load(q + 16);
                a3 += Vector256.Load(q + 24);
                a4 += Vector256.Load(q + 32);
                a5 += Vector256.Load(q + 40);
                a6 += Vector256.Load(q + 48);
                a7 += Vector256.Load(q + 56);
            }
        }
        return Vector256.Sum((a0 + a1) + (a2 + a3)) + (double)Vector256.Sum((a4 + a5) + (a6 + a7));
    }

    private double Sum512(float* chunk, long floats)
    {
        long per = floats / Streams;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (long i = 0; i < per; i += 64)
        {
            for (int s = 0; s < Streams; s++)
            {
                float* q = chunk + s * per + i;
                if (Prefetch && Sse.IsSupported)
                {
                    byte* ahead = (byte*)q + PrefetchBytes;
                    Sse.Prefetch0(ahead);
                    Sse.Prefetch0(ahead + 64);
                    Sse.Prefetch0(ahead + 128);
                    Sse.Prefetch0(ahead + 192);
                }
                a0 += Vector512.Load(q);
                a1 += Vector512.Load(q + 16);
                a2 += Vector512.Load(q + 32);
                a3 += Vector512.Load(q + 48);
            }
        }
        return Vector512.Sum(a0 + a1) + (double)Vector512.Sum(a2 + a3);
    }

    // Eight 512-bit loads (8 cache lines) per step; with several streams, each stream's pointer advances in lock-step.
    private double Sum512x8(float* chunk, long floats)
    {
        long per = floats / Streams;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        for (long i = 0; i < per; i += 128)
        {
            for (int s = 0; s < Streams; s++)
            {
                float* q = chunk + s * per + i;
                if (Prefetch && Sse.IsSupported)
                {
                    byte* ahead = (byte*)q + PrefetchBytes;
                    for (int line = 0; line < 512; line += 64)
                        Sse.Prefetch0(ahead + line);
                }
                a0 += Vector512.Load(q);
                a1 += Vector512.Load(q + 16);
                a2 += Vector512.Load(q + 32);
                a3 += Vector512.Load(q + 48);
                a4 += Vector512.Load(q + 64);
                a5 += Vector512.Load(q + 80);
                a6 += Vector512.Load(q + 96);
                a7 += Vector512.Load(q + 112);
            }
        }
        return Vector512.Sum((a0 + a1) + (a2 + a3)) + (double)Vector512.Sum((a4 + a5) + (a6 + a7));
    }
}
