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

    /// <summary>Single-writer increment: only the step thread writes, readers see whole values.</summary>
    public static void Add(ref long field, long amount) => Volatile.Write(ref field, field + amount);
}
