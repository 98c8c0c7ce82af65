using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Glm.Onnx.DecodeBench;

/// <summary>
/// Plain memory-read bandwidth: the threads sum one large native float array with 256-bit loads
/// (four independent accumulators, so the adds never limit the loads); the figure is bytes / wall time, median of
/// repeats. The array is far larger than the caches, as the model weights are.
/// </summary>
internal static unsafe class ReadBandwidth
{
    public static int Run(string[] args)
    {
        long mib = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 1024;
        int repeats = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 9;
        int threads = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : Environment.ProcessorCount;
        if (mib < 64 || repeats < 1 || threads < 1)
            throw new ArgumentException($"bandwidth: expected MiB >= 64, repeats >= 1, threads >= 1; got {mib}, {repeats}, {threads}.");
        long bytes = mib << 20;
        long floats = bytes / sizeof(float);
        var data = (float*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        try
        {
            // Write every element so the reads hit real, committed memory (not the shared zero page).
            for (long i = 0; i < floats; i += 1 << 26)
                new Span<float>(data + i, (int)Math.Min(1 << 26, floats - i)).Fill(1f);
            var seconds = new double[repeats];
            double checksum = 0;
            Sum(data, floats, threads); // warm-up: thread start, JIT
            for (int r = 0; r < repeats; r++)
            {
                long start = Stopwatch.GetTimestamp();
                checksum += Sum(data, floats, threads);
                seconds[r] = Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
            Array.Sort(seconds);
            double median = seconds[repeats / 2];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"read_bandwidth_GBps {bytes / median / 1e9:F2} (median of {repeats}, {mib} MiB, {threads} threads, min {bytes / seconds[^1] / 1e9:F2}, max {bytes / seconds[0] / 1e9:F2}; checksum {checksum:G6})"));
            return 0;
        }
        finally
        {
            NativeMemory.AlignedFree(data);
        }
    }

    /// <summary>
    /// Threads take 4 MiB chunks from a shared counter (as the custom ops' pool hands out work), so one thread
    /// descheduled on a busy machine delays the sum by a chunk, not by its whole half of the array.
    /// </summary>
    private static double Sum(float* data, long floats, int threads)
    {
        const long Chunk = 1 << 20; // floats
        long next = 0;
        var partial = new double[threads];
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            double total = 0;
            for (long begin; (begin = Interlocked.Add(ref next, Chunk) - Chunk) < floats;)
            {
                float* p = data + begin;
                long n = Math.Min(Chunk, floats - begin);
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                long i = 0;
                for (; i + 32 <= n; i += 32)
                {
                    a0 += Vector256.Load(p + i);
                    a1 += Vector256.Load(p + i + 8);
                    a2 += Vector256.Load(p + i + 16);
                    a3 += Vector256.Load(p + i + 24);
                }
                float s = Vector256.Sum(a0 + a1 + a2 + a3);
                for (; i < n; i++) s += p[i];
                total += s;
            }
            partial[t] = total;
        });
        return partial.Sum();
    }
}
