using Glm.Onnx.Runtime.Cache;

namespace Glm.Onnx.Runtime;

/// <summary>How to load an artifacts directory.</summary>
/// <param name="Devices">Device per stage ("cpu" or "cuda:N"); one entry applies to every stage; null = all CPU.</param>
/// <param name="VerifyChecksums">Hash every artifact file against the manifest's SHA-256 (reads every byte).</param>
/// <param name="Cache">Paged cache size.</param>
/// <param name="IntraOpThreads">ONNX Runtime intra-op threads per session (the custom ops run on them too); 0 = one
/// per logical processor.</param>
/// <param name="ProfilePrefix">When set, ONNX Runtime profiles every stage session into
/// <c>{ProfilePrefix}.stage{i}_{timestamp}.json</c>; <see cref="GlmModel.EndProfiling"/> writes the files.</param>
/// <param name="IntraOpSpinning">Let ONNX Runtime's intra-op threads spin-wait between parallel sections. Off by
/// default: measured with the custom ops on the same pool, spinning nearly doubled the CPU time of a decode step
/// and slowed it (docs/benchmarks.md, "Custom ops on ONNX Runtime's thread pool").</param>
/// <param name="SessionConfig">Extra ONNX Runtime session config entries for every stage session (e.g.
/// <c>session.dynamic_block_base</c>); one naming a key this library sets (spinning) replaces it; null = none. ONNX Runtime rejects
/// a malformed value when the session is created.</param>
public sealed record GlmModelOptions(
    IReadOnlyList<string>? Devices = null,
    bool VerifyChecksums = false,
    KvCacheOptions? Cache = null,
    int IntraOpThreads = 0,
    string? ProfilePrefix = null,
    bool IntraOpSpinning = false,
    IReadOnlyDictionary<string, string>? SessionConfig = null);
