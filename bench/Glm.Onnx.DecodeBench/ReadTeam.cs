namespace Glm.Onnx.DecodeBench;

/// <summary>
/// Reader threads started once and reused for every repeat (so thread start-up is not timed). Each read hands out
/// 16 MiB chunks from a shared counter: a thread descheduled on a busy machine delays the total by one chunk, not by
/// its whole share of the buffer; a pattern with <c>OwnPart</c> gives each thread its own contiguous part instead
/// (one sequential stream per thread over its part, as a kernel splitting a weight matrix by rows reads). Each reader times its own CPU (CLOCK_THREAD_CPUTIME_ID), so the CPU figure counts the
/// readers only, not the main thread waiting at the barrier.
/// </summary>
internal sealed unsafe partial class ReadTeam : IDisposable
{
    private const int ClockThreadCpuTime = 3;

    private const long ChunkFloats = 4 << 20; // 16 MiB

    private readonly Thread[] _threads;
    private readonly Barrier _barrier;
    private readonly double[] _partial;
    private readonly double[] _cpuSeconds;
    private HugePageBuffer? _buffer;
    private StreamPattern? _pattern;
    private long _next;
    private bool _stop;

    public ReadTeam(int threads)
    {
        _partial = new double[threads];
        _cpuSeconds = new double[threads];
        _barrier = new Barrier(threads + 1);
        _threads = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int index = t;
            _threads[t] = new Thread(() => Work(index)) { IsBackground = true, Name = $"read-{t}" };
            _threads[t].Start();
        }
    }

    /// <summary>CPU seconds the readers spent in the last <see cref="Read"/>, summed over readers.</summary>
    public double LastCpuSeconds => _cpuSeconds.Sum();

    /// <summary>Reads the whole buffer once with the pattern; returns the sum of its elements.</summary>
    public double Read(HugePageBuffer buffer, StreamPattern pattern)
    {
        if (buffer.Bytes % (ChunkFloats * sizeof(float)) != 0)
            throw new ArgumentException($"bandwidth: the buffer ({buffer.Bytes} bytes) must be a whole number of 16 MiB chunks.");
        _buffer = buffer;
        _pattern = pattern;
        _next = 0;
        _barrier.SignalAndWait(); // start
        _barrier.SignalAndWait(); // all threads done
        return _partial.Sum();
    }

    private void Work(int index)
    {
        while (true)
        {
            _barrier.SignalAndWait();
            if (_stop)
                return;
            long floats = _buffer!.Bytes / sizeof(float);
            double cpuStart = ThreadCpuSeconds();
            double total = 0;
            if (_pattern!.OwnPart)
            {
                // This thread's contiguous part (whole chunks; the last thread takes the remainder), chunk by chunk.
                long chunks = floats / ChunkFloats, per = chunks / _threads.Length;
                long first = index * per, last = index == _threads.Length - 1 ? chunks : first + per;
                for (long c = first; c < last; c++)
                    total += _pattern.Sum(_buffer.Data + c * ChunkFloats, ChunkFloats);
            }
            else
            {
                for (long begin; (begin = Interlocked.Add(ref _next, ChunkFloats) - ChunkFloats) < floats;)
                    total += _pattern.Sum(_buffer.Data + begin, ChunkFloats);
            }
            _partial[index] = total;
            _cpuSeconds[index] = ThreadCpuSeconds() - cpuStart;
            _barrier.SignalAndWait();
        }
    }

    public void Dispose()
    {
        _stop = true;
        _barrier.SignalAndWait();
        foreach (var thread in _threads)
            thread.Join();
        _barrier.Dispose();
    }

    private static double ThreadCpuSeconds()
    {
        Timespec now;
        if (ClockGettime(ClockThreadCpuTime, &now) != 0)
            throw new IOException("bandwidth: clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed.");
        return now.Seconds + now.Nanoseconds * 1e-9;
    }

    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGettime(int clock, Timespec* time);
}
