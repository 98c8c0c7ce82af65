using Glm.Onnx.CustomOps;
using Microsoft.ML.OnnxRuntime;

namespace Glm.Onnx.Runtime.Execution;

/// <summary>ONNX Runtime settings every stage session shares (the loader maps its options onto these).</summary>
/// <param name="IntraOpThreads">ONNX Runtime intra-op threads per session; 0 = one per processor (always set explicitly).</param>
/// <param name="IntraOpSpinning">Let ORT's intra-op threads spin-wait between parallel sections inside a Run (resolved
/// by <see cref="SpinningPolicy"/>); they stop spinning when a Run ends.</param>
/// <param name="ProfilePrefix">When set, each session profiles into <c>{ProfilePrefix}.stage{i}_{timestamp}.json</c>.</param>
/// <param name="ConfigEntries">Extra ONNX Runtime session config entries (key = value); one naming a key we set
/// (spinning, spinning stop) replaces ours; null = none.</param>
internal sealed record SessionSettings(int IntraOpThreads, bool IntraOpSpinning, string? ProfilePrefix,
    IReadOnlyDictionary<string, string>? ConfigEntries = null)
{
    private const string SpinningKey = "session.intra_op.allow_spinning";
    private const string SpinningStopKey = "session.force_spinning_stop";

    /// <summary>Session options for stage <paramref name="stage"/> on <paramref name="device"/>; the caller disposes them.</summary>
    public SessionOptions Create(StageDevice device, int stage)
    {
        var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        try
        {
            // Always an explicit count: left at 0, ONNX Runtime pins its intra-op threads to cores, and the custom ops
            // run on that pool too, so a pinned thread waiting for a busy core stalls them (docs/benchmarks.md).
            options.IntraOpNumThreads = IntraOpThreads > 0 ? IntraOpThreads : Environment.ProcessorCount;
            // An explicit entry for the same key replaces ours (ORT would warn on overwriting it).
            if (ConfigEntries?.ContainsKey(SpinningKey) != true)
                options.AddSessionConfigEntry(SpinningKey, IntraOpSpinning ? "1" : "0");
            // ORT's workers poll 2^20 times with a pause between (~28 ms here) before sleeping, so without this they keep
            // a core busy after every request; with it they stop when the last concurrent Run returns.
            if (IntraOpSpinning && ConfigEntries?.ContainsKey(SpinningStopKey) != true)
                options.AddSessionConfigEntry(SpinningStopKey, "1");
            foreach (var (key, value) in ConfigEntries ?? new Dictionary<string, string>())
            {
                try
                {
                    options.AddSessionConfigEntry(key, value);
                }
                catch (OnnxRuntimeException e)
                {
                    throw new ArgumentException($"ONNX Runtime session config entry '{key}={value}': {e.Message}", e);
                }
            }
            if (ProfilePrefix is { } prefix)
            {
                // The prefix first: setting EnableProfiling hands ONNX Runtime the prefix current at that moment.
                options.ProfileOutputPathPrefix = $"{prefix}.stage{stage}";
                options.EnableProfiling = true;
            }
            GlmCustomOps.Register(options);
            // The custom-op library registers CUDA kernels for this provider too (checked by CudaPlacement.Verify);
            // nodes it cannot take (none in a converted stage) fall back to the CPU.
            if (device.IsCuda)
                CudaPlacement.AppendProvider(options, device, stage);
            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }
}
