using Glm.Onnx.Runtime.Cache;

namespace Glm.Onnx.Runtime;

/// <summary>How to load an artifacts directory.</summary>
/// <param name="Devices">Device per stage ("cpu" or "cuda:N"); one entry applies to every stage; null = all CPU.</param>
/// <param name="VerifyChecksums">Hash every artifact file against the manifest's SHA-256 (reads every byte).</param>
/// <param name="Cache">Paged cache size.</param>
/// <param name="IntraOpThreads">ONNX Runtime intra-op threads per session; 0 = ONNX Runtime's default.</param>
public sealed record GlmModelOptions(
    IReadOnlyList<string>? Devices = null,
    bool VerifyChecksums = false,
    KvCacheOptions? Cache = null,
    int IntraOpThreads = 0);
