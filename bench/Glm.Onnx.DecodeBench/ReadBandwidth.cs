using System.Diagnostics;
using System.Globalization;

namespace Glm.Onnx.DecodeBench;

/// <summary>
/// Memory-read bandwidth: how fast this machine can stream a buffer far larger than the caches (as decode streams
/// the model's weights). One core's naive loop (one sequential stream, 256-bit loads) stays far below what the memory
/// system delivers, because a core keeps only so many cache-line misses in flight; llama.cpp's decode showed ~3x the
/// old probe's figure here (docs/benchmarks.md, "The read-bandwidth floor"). So the probe measures several access
/// patterns (vector width, independent streams per thread, software prefetch) on one buffer backed by transparent
/// huge pages, and the bandwidth it reports is the best pattern's median: the fastest rate known to be reachable,
/// which is what a floor must be. Every pattern's line is printed too.
/// </summary>
internal static class ReadBandwidth
{
    public static int Run(string[] args)
    {
        long mib = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 1024;
        int repeats = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 9;
        int threads = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : Environment.ProcessorCount;
        bool hugePages = args.Length <= 3 || args[3] switch
        {
            "huge-pages" => true,
            "small-pages" => false,
            var other => throw new ArgumentException($"bandwidth: the fourth argument must be huge-pages or small-pages, got '{other}'."),
        };
        if (mib < 256 || repeats < 1 || threads < 1)
            throw new ArgumentException($"bandwidth: expected MiB >= 256 (far above the caches), repeats >= 1, threads >= 1; got {mib}, {repeats}, {threads}.");

        using var buffer = new HugePageBuffer(mib << 20, hugePages);
        using var team = new ReadTeam(threads);
        long floats = buffer.Bytes / sizeof(float);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"buffer {mib} MiB, {threads} threads, huge pages: {buffer.HugePageMiB()} MiB of {mib} MiB, vector widths: {string.Join('/', StreamPattern.Widths())}"));

        var best = (GBps: 0.0, Name: "");
        foreach (var pattern in StreamPattern.All())
        {
            var seconds = new double[repeats];
            var cpuSeconds = new double[repeats];
            team.Read(buffer, pattern); // warm-up: first touch by this pattern's code, JIT tiering
            for (int r = 0; r < repeats; r++)
            {
                long start = Stopwatch.GetTimestamp();
                double sum = team.Read(buffer, pattern);
                seconds[r] = Stopwatch.GetElapsedTime(start).TotalSeconds;
                cpuSeconds[r] = team.LastCpuSeconds;
                // The buffer holds 1.0f everywhere: a sum that is not the element count means some bytes were not read.
                if (sum != floats)
                    throw new InvalidDataException($"bandwidth: pattern {pattern.Name} summed {sum:G17}, expected {floats} (every element is 1.0).");
            }
            Array.Sort(seconds);
            Array.Sort(cpuSeconds);
            double gbps = buffer.Bytes / seconds[repeats / 2] / 1e9;
            // Per CPU-second of the readers: what one running core streams; a loaded machine moves it far less than the
            // wall figure. Times the thread count: what that many cores would stream if memory kept up.
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"pattern {pattern.Name,-38} median {gbps,6:F2} GB/s  (min {buffer.Bytes / seconds[^1] / 1e9:F2}, max {buffer.Bytes / seconds[0] / 1e9:F2}, {repeats} repeats; {buffer.Bytes / cpuSeconds[repeats / 2] / 1e9:F2} GB per reader CPU-second)"));
            if (gbps > best.GBps)
                best = (gbps, pattern.Name);
        }
        // Last line, second field: the figure scripts read (scripts/bench-decode.sh, scripts/bench-vs-llamacpp.sh).
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"read_bandwidth_GBps {best.GBps:F2} (best pattern: {best.Name}; median of {repeats}, {mib} MiB, {threads} threads)"));
        return 0;
    }
}
