using System.Globalization;

namespace Glm.Onnx.Runtime.Execution;

/// <summary>
/// Resolves <see cref="IntraOpSpinning"/> for a session's thread count. Auto spins only when it cannot take a core
/// from anyone: more than one intra-op thread (one thread has no workers to wake), no more threads than the processors
/// this process may use (<see cref="Environment.ProcessorCount"/> honours the affinity mask and the cgroup CPU quota),
/// and that many cores idle right now (sampled from /proc/stat over <see cref="SampleTime"/>). Measured on a shared
/// 2-core machine: spinning wins 1.05-1.35x when the cores are free and is 3-20x slower when other processes want them
/// (docs/benchmarks.md, "Spinning: the policy"). The sample is taken once, at load: load that arrives later is not
/// seen, so a machine shared with bursty work should say <see cref="IntraOpSpinning.Off"/>.
/// </summary>
internal static class SpinningPolicy
{
    /// <summary>How long the idle sample lasts (long enough to average over scheduler ticks, short against a load).</summary>
    public static readonly TimeSpan SampleTime = TimeSpan.FromMilliseconds(200);

    // The cores the threads need may be this much short of idle (our own process is not quite idle while it loads).
    private const double IdleSlack = 0.5;

    // One sample serves every load within this time (a process loading several models, the test suite), so loading
    // pays the sample once, not per model.
    private static readonly TimeSpan SampleReuse = TimeSpan.FromSeconds(10);
    private static readonly Lock SampleLock = new();
    private static (long At, double? Idle)? _lastSample;

    public static SpinningChoice Resolve(IntraOpSpinning policy, int intraOpThreads, Func<double?>? idleCores = null)
    {
        int threads = intraOpThreads > 0 ? intraOpThreads : Environment.ProcessorCount;
        switch (policy)
        {
            case IntraOpSpinning.On:
                return new SpinningChoice(true, "intra-op spinning on (set explicitly: --spin on)");
            case IntraOpSpinning.Off:
                return new SpinningChoice(false, "intra-op spinning off (set explicitly: --spin off)");
        }
        int usable = Environment.ProcessorCount;
        if (threads <= 1)
            return new SpinningChoice(false, "intra-op spinning off (auto: one intra-op thread has no workers to wake)");
        if (threads > usable)
            return new SpinningChoice(false, $"intra-op spinning off (auto: {threads} threads on {usable} usable processors)");
        double? idle = (idleCores ?? RecentIdleCores)();
        if (idle is not { } free)
            return new SpinningChoice(false, "intra-op spinning off (auto: /proc/stat unreadable, idle cores unknown)");
        bool spin = free >= threads - IdleSlack;
        return new SpinningChoice(spin, string.Create(CultureInfo.InvariantCulture,
            $"intra-op spinning {(spin ? "on" : "off")} (auto: {free:F2} of {usable} usable processors idle at load for {threads} threads; --spin on|off overrides)"));
    }

    private static double? RecentIdleCores()
    {
        lock (SampleLock)
        {
            if (_lastSample is { } last && System.Diagnostics.Stopwatch.GetElapsedTime(last.At) < SampleReuse)
                return last.Idle;
            double? idle = SampleIdleCores();
            _lastSample = (System.Diagnostics.Stopwatch.GetTimestamp(), idle);
            return idle;
        }
    }

    /// <summary>Idle cores of the whole machine over <see cref="SampleTime"/> (idle + iowait ticks of the aggregate
    /// "cpu" line, times the number of per-CPU lines); null when /proc/stat cannot be read.</summary>
    internal static double? SampleIdleCores()
    {
        if (ReadStat() is not { } before)
            return null;
        Thread.Sleep(SampleTime);
        if (ReadStat() is not { } after || after.Total <= before.Total)
            return null;
        return (double)(after.Idle - before.Idle) / (after.Total - before.Total) * after.Cpus;
    }

    private static (long Idle, long Total, int Cpus)? ReadStat()
    {
        try
        {
            long idle = 0, total = 0;
            int cpus = 0;
            foreach (var line in File.ReadLines("/proc/stat"))
            {
                if (line.StartsWith("cpu ", StringComparison.Ordinal))
                {
                    var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    // user nice system idle iowait irq softirq steal (guest time is already inside user / nice)
                    for (int i = 1; i < Math.Min(fields.Length, 9); i++)
                    {
                        long ticks = long.Parse(fields[i], CultureInfo.InvariantCulture);
                        total += ticks;
                        if (i is 4 or 5)
                            idle += ticks;
                    }
                }
                else if (line.StartsWith("cpu", StringComparison.Ordinal))
                    cpus++;
            }
            return cpus > 0 && total > 0 ? (idle, total, cpus) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return null;
        }
    }
}
