using Glm.Onnx.Contracts;
using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.Runtime.Cache;
using Microsoft.ML.OnnxRuntime;

namespace Glm.Onnx.Runtime.Execution;

/// <summary>
/// One stage graph's ONNX Runtime session with its IOBinding. The stage's cache pools are bound once, here; per step
/// only the small batch-description tensors and the stage-to-stage activations are rebound.
/// </summary>
internal sealed class StageSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly HashSet<string> _inputs;

    public StageSession(StageManifest stage, string path, SessionOptions options, PagedKvCache cache)
    {
        Stage = stage;
        Profiling = options.EnableProfiling;
        try
        {
            _session = new InferenceSession(path, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"Stage {stage.Index} ('{path}') could not be loaded by ONNX Runtime: {e.Message}", e);
        }
        try
        {
            _inputs = [.. _session.InputMetadata.Keys];
            var required = new List<string>
            {
                stage.EmbedsTokens ? GraphNames.InputIds : GraphNames.HiddenStates,
                GraphNames.CumulativeSequenceLengths, GraphNames.PastSequenceLengths, GraphNames.BlockTable,
            };
            if (stage.ProducesLogits) required.Add(GraphNames.LogitsIndices);
            if (stage.TakesPrevTopk) required.Add(GraphNames.PrevTopkIndices);
            for (int layer = stage.FirstLayer; layer < stage.EndLayer; layer++)
                required.Add(GraphNames.LatentPool(layer));
            required.AddRange(stage.IndexLayers.Select(GraphNames.IndexPool));
            var missing = required.Where(n => !_inputs.Contains(n)).ToList();
            if (missing.Count > 0)
                throw new InvalidDataException(
                    $"Stage {stage.Index} ('{path}') lacks the contract inputs {string.Join(", ", missing)} (docs/onnx-contract.md, Stage graphs); " +
                    $"it declares {string.Join(", ", _inputs)}.");
            var output = stage.ProducesLogits ? GraphNames.Logits : GraphNames.HiddenStatesOut;
            if (!_session.OutputMetadata.ContainsKey(output))
                throw new InvalidDataException($"Stage {stage.Index} ('{path}') has no output '{output}'.");
            if (stage.EmitsTopk && !_session.OutputMetadata.ContainsKey(GraphNames.TopkIndicesOut))
                throw new InvalidDataException($"Stage {stage.Index} ('{path}') has no output '{GraphNames.TopkIndicesOut}'.");

            Binding = _session.CreateIoBinding();
            for (int layer = stage.FirstLayer; layer < stage.EndLayer; layer++)
                Binding.BindInput(GraphNames.LatentPool(layer), cache.LatentPool(layer).Value);
            foreach (var layer in stage.IndexLayers)
                Binding.BindInput(GraphNames.IndexPool(layer), cache.IndexPool(layer).Value);
        }
        catch
        {
            _session.Dispose();
            throw;
        }
    }

    public StageManifest Stage { get; }

    public OrtIoBinding Binding { get; }

    /// <summary>Whether the session was created with profiling on.</summary>
    public bool Profiling { get; }

    /// <summary>Binds an optional contract input (e.g. positions) only when the graph declares it.</summary>
    public void BindIfDeclared(string name, OrtValue value)
    {
        if (_inputs.Contains(name))
            Binding.BindInput(name, value);
    }

    public void Run(RunOptions options) => _session.RunWithBinding(options, Binding);

    /// <summary>Ends ONNX Runtime profiling and returns the profile file (only when the options enabled it).</summary>
    public string EndProfiling() => _session.EndProfiling();

    public void Dispose()
    {
        Binding.Dispose();
        _session.Dispose();
    }
}
