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
/// <param name="IntraOpSpinning">Whether ONNX Runtime's intra-op threads spin-wait between parallel sections inside a
/// Run: <see cref="Runtime.IntraOpSpinning.Auto"/> (default) spins only when the cores the threads need are idle at
/// load; <c>On</c> for a machine whose cores belong to the engine, <c>Off</c> for cores shared with other work
/// (docs/benchmarks.md, "Spinning: the policy"). <see cref="GlmModel.Spinning"/> says what was chosen.</param>
/// <param name="SessionConfig">Extra ONNX Runtime session config entries for every stage session (e.g.
/// <c>session.dynamic_block_base</c>); one naming a key this library sets (<c>session.intra_op.allow_spinning</c>,
/// <c>session.force_spinning_stop</c>) replaces it; null = none. ONNX Runtime rejects
/// a malformed value when the session is created.</param>
public sealed record GlmModelOptions(
    IReadOnlyList<string>? Devices = null,
    bool VerifyChecksums = false,
    KvCacheOptions? Cache = null,
    int IntraOpThreads = 0,
    string? ProfilePrefix = null,
    IntraOpSpinning IntraOpSpinning = IntraOpSpinning.Auto,
    IReadOnlyDictionary<string, string>? SessionConfig = null);
