namespace Glm.Onnx.Runtime.Telemetry;

/// <summary>
/// The engine's running totals and current load, written by its step thread (the only writer) and read by metric
/// callbacks and health probes on other threads. Plain fields so a token costs an add, never an allocation.
/// </summary>
internal sealed class EngineCounters
{
    public EngineCounters(int totalBlocks) => TotalBlocks = totalBlocks;

    public int TotalBlocks { get; }

    public int Running;
    public int Waiting;

    /// <summary>Submitted requests the step thread has not taken in yet (it takes them between steps; a long step
    /// must not hide them from the waiting gauge). Written with Interlocked by submitters and the step thread.</summary>
    public int Incoming;
    public int FreeBlocks;
    public long PromptTokens;
    public long GenerationTokens;
    public long Preemptions;
    public long PrefixQueriedTokens;
    public long PrefixHitTokens;
    public long FinishedByStop;
    public long FinishedByLength;
    public long Failed;
    public long Cancelled;

    /// <summary>Speculative decoding's totals over all requests (the step thread records each verify step).</summary>
    public SpeculationStats Speculation { get; } = new();

    /// <summary>Requests not running: the scheduler's waiting queue as last published, plus those not taken in yet.</summary>
    public int WaitingNow => Volatile.Read(ref Waiting) + Volatile.Read(ref Incoming);

    /// <summary>Single-writer increment: only the step thread writes, readers see whole values.</summary>
    public static void Add(ref long field, long amount) => Volatile.Write(ref field, field + amount);
}
