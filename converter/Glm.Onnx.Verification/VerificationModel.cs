using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.Runtime;
using Glm.Onnx.Runtime.Cache;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Sampling;
using Glm.Onnx.Runtime.Scheduling;

namespace Glm.Onnx.Verification;

/// <summary>How to load artifacts for verification.</summary>
/// <param name="VerifyChecksums">Hash every data file against the manifest before loading (slow on real models).</param>
/// <param name="BlockSize">Cache block size; null uses the manifest's.</param>
/// <param name="IntraOpThreads">ONNX Runtime intra-op threads; 0 lets ORT choose.</param>
public sealed record VerificationOptions(bool VerifyChecksums = false, int? BlockSize = null, int IntraOpThreads = 0);

/// <summary>Greedy decoding's result: the prompt followed by the generated ids, and the logits row that chose each.</summary>
public sealed record GreedyRun(long[] Ids, float[][] StepLogits);

/// <summary>
/// Artifacts loaded on the CPU through the runtime (<see cref="GlmModel"/>) with one engine set up to compare against a
/// reference: prompts prefilled in one step, one sequence at a time, no prefix reuse, and a cache that hands its blocks
/// out in reverse order, so that logical block j of a sequence is a different physical block and a kernel that ignores
/// the block table fails instead of passing by accident.
/// </summary>
public sealed class VerificationModel : IDisposable
{
    private readonly GlmModel _model;
    private readonly GenerationEngine _engine;

    private VerificationModel(GlmModel model, GenerationEngine engine)
    {
        _model = model;
        _engine = engine;
    }

    public ModelManifest Manifest => _model.Manifest;

    public int VocabSize => _model.Manifest.Dimensions.VocabSize;

    /// <summary>
    /// Loads <paramref name="artifactsDir"/> (manifest, file sizes, checksums when asked, sessions) with a cache that
    /// holds one sequence of <paramref name="maxSequenceTokens"/> tokens (prompt and generated) and no more.
    /// </summary>
    public static VerificationModel Open(string artifactsDir, int maxSequenceTokens, VerificationOptions? options = null)
    {
        options ??= new VerificationOptions();
        if (maxSequenceTokens <= 0)
            throw new ArgumentOutOfRangeException(nameof(maxSequenceTokens), maxSequenceTokens, "a sequence needs room for at least one token");
        var manifest = ModelManifestJson.Load(artifactsDir);
        int blockSize = options.BlockSize ?? manifest.Cache.BlockSize;
        if (blockSize <= 0)
            throw new ArgumentException($"Cache block size must be positive, got {blockSize}.");
        int blocks = (maxSequenceTokens + blockSize - 1) / blockSize;
        var model = GlmModel.Load(artifactsDir, new GlmModelOptions(
            VerifyChecksums: options.VerifyChecksums,
            Cache: new KvCacheOptions(NumBlocks: blocks, BlockSize: blockSize, BlockOrder: BlockOrder.Reversed),
            IntraOpThreads: options.IntraOpThreads));
        try
        {
            var engine = model.CreateEngine(new SchedulerOptions(MaxTokensPerStep: maxSequenceTokens, MaxSequences: 1, EnablePrefixCaching: false));
            return new VerificationModel(model, engine);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Logits of every prompt position, row-major [prompt, vocab], from one prefill step.</summary>
    public Task<float[]> PromptLogitsAsync(IReadOnlyList<long> prompt, CancellationToken cancellationToken = default) =>
        _engine.ComputePromptLogitsAsync(ToIds(prompt), cancellationToken);

    /// <summary>Greedy decoding: the prompt in one step, then one token at a time through the paged cache.</summary>
    public async Task<GreedyRun> GreedyAsync(IReadOnlyList<long> prompt, int newTokens, CancellationToken cancellationToken = default)
    {
        var ids = new List<long>(prompt);
        var steps = new List<float[]>();
        if (newTokens > 0)
        {
            var request = new GenerationRequest(ToIds(prompt))
            {
                Sampling = SamplingOptions.Greedy, MaxNewTokens = newTokens, IgnoreEos = true, ReturnLogits = true,
            };
            await foreach (var token in _engine.GenerateAsync(request, cancellationToken).ConfigureAwait(false))
            {
                ids.Add(token.TokenId);
                steps.Add(token.Logits!);
            }
        }
        return new GreedyRun([.. ids], [.. steps]);
    }

    public void Dispose()
    {
        // The engine borrows the model's executor: it goes first.
        _engine.Dispose();
        _model.Dispose();
    }

    private int[] ToIds(IReadOnlyList<long> ids)
    {
        var result = new int[ids.Count];
        for (int i = 0; i < result.Length; i++)
            result[i] = ids[i] is >= 0 and <= int.MaxValue
                ? (int)ids[i]
                : throw new ArgumentException($"Token id {ids[i]} at position {i} is outside the vocabulary [0, {VocabSize}).");
        return result;
    }
}
