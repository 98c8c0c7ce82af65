using System.Runtime.InteropServices;

namespace Glm.Onnx.RunCli;

/// <summary>
/// CPU time of the calling thread (Linux CLOCK_THREAD_CPUTIME_ID): on a shared, overloaded machine wall-clock mask
/// times mostly measure the scheduler, so maskbench reports this next to them (docs/benchmarks.md).
/// </summary>
internal static class ThreadCpuClock
{
    private const int ClockThreadCpuTimeId = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    /// <summary>Microseconds of CPU this thread has used, or NaN where the clock is unavailable.</summary>
    public static double NowUs()
    {
        if (!OperatingSystem.IsLinux() || ClockGetTime(ClockThreadCpuTimeId, out var t) != 0)
            return double.NaN;
        return t.Seconds * 1e6 + t.Nanoseconds / 1e3;
    }
}
