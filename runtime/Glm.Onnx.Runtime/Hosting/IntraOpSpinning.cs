namespace Glm.Onnx.Runtime;

/// <summary>
/// Whether ONNX Runtime's intra-op worker threads spin-wait for the next parallel section (as llama.cpp's threads do)
/// or go to sleep after each one. A decode step hands the pool ~25-30 parallel sections; sleeping costs a Linux
/// wake-up per section (microseconds when the cores are free), spinning costs a busy core, which on cores shared with
/// other work is a core taken from them and a 2-3x slower step (docs/benchmarks.md, "Spinning: the policy").
/// </summary>
public enum IntraOpSpinning
{
    /// <summary>Spin when the cores the threads need are idle at load time (<see cref="SpinningChoice"/>), else sleep.</summary>
    Auto,

    /// <summary>Never spin: every parallel section wakes the workers (the setting for cores shared with other work).</summary>
    Off,

    /// <summary>Spin inside a Run (the setting for a machine whose cores belong to the engine); workers still stop
    /// spinning when a Run ends, so an idle server burns no CPU.</summary>
    On,
}

/// <summary>What the loader decided for <see cref="IntraOpSpinning"/>, and why (printed by <c>glm-run</c>).</summary>
/// <param name="Spinning">Whether the intra-op workers spin inside a Run.</param>
/// <param name="Reason">One line: the setting, and for <see cref="IntraOpSpinning.Auto"/> the figures it was chosen from.</param>
public sealed record SpinningChoice(bool Spinning, string Reason);
