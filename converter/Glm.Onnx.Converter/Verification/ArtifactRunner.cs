using Glm.Onnx.Contracts;
using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.CustomOps;
using Microsoft.ML.OnnxRuntime;

namespace Glm.Onnx.Converter.Verification;

/// <summary>Options for <see cref="ArtifactRunner"/>.</summary>
/// <param name="VerifyChecksums">Hash every data file against the manifest before loading (slow on real models).</param>
/// <param name="BlockSize">Cache block size; null uses the manifest's.</param>
/// <param name="IntraOpThreads">ONNX Runtime intra-op threads; 0 lets ORT choose.</param>
public sealed record RunnerOptions(bool VerifyChecksums = false, int? BlockSize = null, int IntraOpThreads = 0);

/// <summary>
/// Runs converted stage graphs on CPU for one token sequence: prefill of any length and one-token decode through the
/// paged pools, chaining stages (hidden states, and top-k indices across an IndexShare cut). This is the plain,
/// single-sequence driver used by <c>glm-convert verify</c> and the converter tests; the runtime's engine is the
/// batched, scheduled one.
/// </summary>
public sealed class ArtifactRunner : IDisposable
{
    private readonly List<InferenceSession> _sessions = [];
    private readonly RunOptions _runOptions = new();
    private readonly int _blockSize;

    private ArtifactRunner(string directory, ModelManifest manifest, RunnerOptions options)
    {
        Directory = directory;
        Manifest = manifest;
        _blockSize = options.BlockSize ?? manifest.Cache.BlockSize;
        try
        {
            foreach (var stage in manifest.Stages)
            {
                using var so = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
                if (options.IntraOpThreads > 0) so.IntraOpNumThreads = options.IntraOpThreads;
                GlmCustomOps.Register(so);
                var path = Path.Combine(directory, stage.File);
                InferenceSession session;
                try { session = new InferenceSession(path, so); }
                catch (OnnxRuntimeException e)
                {
                    throw new InvalidDataException($"{path}: ONNX Runtime could not load stage {stage.Index}: {e.Message}", e);
                }
                _sessions.Add(session);
                CheckInputs(stage, session, path);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Directory { get; }
    public ModelManifest Manifest { get; }
    public int VocabSize => Manifest.Dimensions.VocabSize;

    /// <summary>Validates the manifest and file sizes (and checksums when asked), then creates one session per stage.</summary>
    public static ArtifactRunner Open(string artifactsDir, RunnerOptions? options = null)
    {
        options ??= new RunnerOptions();
        var manifest = ModelManifestJson.Load(artifactsDir);
        ModelManifestJson.VerifyFiles(artifactsDir, manifest, options.VerifyChecksums);
        return new ArtifactRunner(artifactsDir, manifest, options);
    }

    /// <summary>Pools for one sequence of up to <paramref name="maxTokens"/> tokens.</summary>
    public SequenceCache NewSequence(int maxTokens)
    {
        var pools = new List<(string, int)>();
        for (int layer = 0; layer < Manifest.Dimensions.NumHiddenLayers; layer++)
            pools.Add((GraphNames.LatentPool(layer), Manifest.Cache.LatentWidth));
        foreach (var layer in Manifest.Cache.IndexLayers)
            pools.Add((GraphNames.IndexPool(layer), Manifest.Cache.IndexWidth));
        return new SequenceCache(maxTokens, _blockSize, pools);
    }

    /// <summary>
    /// Feeds <paramref name="tokens"/> after what the cache holds and returns logits, row-major [rows, vocab]:
    /// every new position when <paramref name="allPositions"/>, else only the last.
    /// </summary>
    public float[] Forward(SequenceCache cache, ReadOnlySpan<long> tokens, bool allPositions)
    {
        int t = tokens.Length;
        if (t == 0) throw new ArgumentException("no tokens to run", nameof(tokens));
        if (cache.Length + t > cache.MaxTokens)
            throw new ArgumentException($"sequence of {cache.Length + t} tokens exceeds the cache's {cache.MaxTokens}");
        var positions = new long[t];
        for (int i = 0; i < t; i++) positions[i] = cache.Length + i;
        long[] rows = allPositions ? Enumerable.Range(0, t).Select(i => (long)i).ToArray() : [t - 1];

        using var ids = OrtValue.CreateTensorValueFromMemory(tokens.ToArray(), [t]);
        using var pos = OrtValue.CreateTensorValueFromMemory(positions, [t]);
        using var cu = OrtValue.CreateTensorValueFromMemory(new[] { 0, t }, [2]);
        using var past = OrtValue.CreateTensorValueFromMemory(new[] { cache.Length }, [1]);
        using var table = OrtValue.CreateTensorValueFromMemory(cache.BlockTable, [1, cache.BlockTable.Length]);
        using var logitsIndices = OrtValue.CreateTensorValueFromMemory(rows, [rows.Length]);

        OrtValue? hidden = null, topk = null;
        var owned = new List<IDisposable>();
        try
        {
            for (int s = 0; s < _sessions.Count; s++)
            {
                var stage = Manifest.Stages[s];
                var names = new List<string>();
                var values = new List<OrtValue>();
                void Bind(string name, OrtValue value) { names.Add(name); values.Add(value); }
                if (stage.EmbedsTokens) Bind(GraphNames.InputIds, ids);
                else Bind(GraphNames.HiddenStates, hidden!);
                Bind(GraphNames.Positions, pos);
                Bind(GraphNames.CumulativeSequenceLengths, cu);
                Bind(GraphNames.PastSequenceLengths, past);
                Bind(GraphNames.BlockTable, table);
                if (stage.ProducesLogits) Bind(GraphNames.LogitsIndices, logitsIndices);
                if (stage.TakesPrevTopk)
                    Bind(GraphNames.PrevTopkIndices, topk ?? throw new InvalidOperationException(
                        $"stage {s} needs prev_topk_indices but the previous stage emitted none"));
                for (int layer = stage.FirstLayer; layer < stage.EndLayer; layer++)
                    Bind(GraphNames.LatentPool(layer), cache.Pool(GraphNames.LatentPool(layer)));
                foreach (var layer in stage.IndexLayers)
                    Bind(GraphNames.IndexPool(layer), cache.Pool(GraphNames.IndexPool(layer)));

                var outputNames = new List<string> { stage.ProducesLogits ? GraphNames.Logits : GraphNames.HiddenStatesOut };
                if (stage.EmitsTopk) outputNames.Add(GraphNames.TopkIndicesOut);
                var outputs = _sessions[s].Run(_runOptions, names, values, outputNames);
                owned.Add(outputs);
                if (stage.ProducesLogits)
                {
                    var logits = outputs[0].GetTensorDataAsSpan<float>().ToArray();
                    cache.Length += t;
                    return logits;
                }
                hidden = outputs[0];
                topk = stage.EmitsTopk ? outputs[1] : null;
            }
            throw new InvalidOperationException("the manifest has no stage that produces logits");
        }
        finally
        {
            foreach (var d in owned) d.Dispose();
        }
    }

    /// <summary>Greedy decoding: prefill the prompt, then one token at a time through the cache.</summary>
    /// <returns>The prompt followed by <paramref name="newTokens"/> generated ids, and the logits that chose each.</returns>
    public (long[] Ids, float[][] StepLogits) Greedy(ReadOnlySpan<long> prompt, int newTokens)
    {
        using var cache = NewSequence(prompt.Length + newTokens);
        var ids = new List<long>(prompt.ToArray());
        var steps = new float[newTokens][];
        var logits = Forward(cache, prompt, allPositions: false);
        for (int i = 0; i < newTokens; i++)
        {
            steps[i] = logits;
            long next = ArgMax(logits);
            ids.Add(next);
            if (i + 1 < newTokens) logits = Forward(cache, [next], allPositions: false);
        }
        return (ids.ToArray(), steps);
    }

    public static int ArgMax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int i = 1; i < row.Length; i++) if (row[i] > row[best]) best = i;
        return best;
    }

    private static void CheckInputs(StageManifest stage, InferenceSession session, string path)
    {
        var expected = new List<string> { stage.EmbedsTokens ? GraphNames.InputIds : GraphNames.HiddenStates, GraphNames.Positions };
        if (stage.ProducesLogits) expected.Add(GraphNames.LogitsIndices);
        if (stage.TakesPrevTopk) expected.Add(GraphNames.PrevTopkIndices);
        for (int layer = stage.FirstLayer; layer < stage.EndLayer; layer++) expected.Add(GraphNames.LatentPool(layer));
        foreach (var layer in stage.IndexLayers) expected.Add(GraphNames.IndexPool(layer));
        var missing = expected.Where(n => !session.InputMetadata.ContainsKey(n)).ToArray();
        if (missing.Length > 0)
            throw new InvalidDataException($"{path}: stage {stage.Index} graph lacks inputs the manifest implies: {string.Join(", ", missing)}");
    }

    public void Dispose()
    {
        foreach (var s in _sessions) s.Dispose();
        _sessions.Clear();
        _runOptions.Dispose();
    }
}
