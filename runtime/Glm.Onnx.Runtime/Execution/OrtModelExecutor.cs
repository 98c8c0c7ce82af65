using Glm.Onnx.Contracts;
using Glm.Onnx.Contracts.Stages;
using Microsoft.ML.OnnxRuntime;

namespace Glm.Onnx.Runtime.Execution;

/// <summary>
/// Runs a step through the stage sessions in order, binding what each stage's contract lists: the batch description
/// to every stage, the token ids to the first, the previous stage's hidden states (and top-k indices across an
/// IndexShare boundary) to each later one; the last stage writes its logits straight into a reused managed buffer.
/// </summary>
public sealed class OrtModelExecutor : IModelExecutor
{
    private readonly IReadOnlyList<StageSession> _stages;
    private readonly RunOptions _runOptions = new();
    private float[] _logits = [];

    internal OrtModelExecutor(IReadOnlyList<StageSession> stages, ModelExecutorInfo info)
    {
        _stages = stages;
        Info = info;
    }

    public ModelExecutorInfo Info { get; }

    public LogitsBuffer Forward(ForwardBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        int vocab = Info.VocabSize;
        int rows = batch.LogitsCount;
        // At least one row, so that a step without logits (a prefill chunk) still binds a non-null buffer of [0, vocab].
        if (_logits.Length < Math.Max(rows, 1) * vocab)
            _logits = new float[Math.Max(rows, 1) * vocab];

        var owned = new List<OrtValue>();
        try
        {
            var ids = Own(owned, OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, AsMemory(batch.InputIds), [batch.TokenCount]));
            var positions = Own(owned, OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, AsMemory(batch.Positions), [batch.TokenCount]));
            var cu = Own(owned, OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, AsMemory(batch.CumulativeSequenceLengths), [batch.SequenceCount + 1]));
            var past = Own(owned, OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, AsMemory(batch.PastSequenceLengths), [batch.SequenceCount]));
            var table = Own(owned, OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, AsMemory(batch.BlockTable), [batch.SequenceCount, batch.MaxBlocks]));
            var indices = Own(owned, OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, AsMemory(batch.LogitsIndices), [rows]));
            var logits = Own(owned, OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, _logits.AsMemory(0, rows * vocab), [rows, vocab]));

            OrtValue? hidden = null, topk = null;
            for (int k = 0; k < _stages.Count; k++)
            {
                var stage = _stages[k];
                var binding = stage.Binding;
                foreach (var input in stage.Contract.Inputs)
                {
                    if (input.IsPool)
                        continue; // bound once at load
                    stage.Bind(input, input.Kind switch
                    {
                        StageTensorKind.InputIds => ids,
                        StageTensorKind.HiddenStates => hidden!,
                        StageTensorKind.Positions => positions,
                        StageTensorKind.CumulativeSequenceLengths => cu,
                        StageTensorKind.PastSequenceLengths => past,
                        StageTensorKind.BlockTable => table,
                        StageTensorKind.LogitsIndices => indices,
                        StageTensorKind.PrevTopkIndices => topk ?? throw new InvalidDataException(
                            $"Stage {stage.Stage.Index} takes {input.Name} but the previous stage emits none."),
                        _ => throw new InvalidOperationException($"Stage {stage.Stage.Index}: the contract input '{input.Name}' ({input.Kind}) has no source."),
                    });
                }
                binding.ClearBoundOutputs();
                // Device outputs are produced where the next stage runs (host, or its CUDA device): ORT copies across
                // devices once, at the end of this Run, and the next stage takes the value as is.
                var next = k + 1 < _stages.Count ? _stages[k + 1].InputMemory : OrtMemoryInfo.DefaultInstance;
                foreach (var output in stage.Contract.Outputs)
                {
                    if (output.Kind == StageTensorKind.Logits)
                        binding.BindOutput(output.Name, logits); // straight into the reused host buffer
                    else
                        binding.BindOutputToDevice(output.Name, output.Memory == StageMemory.Device ? next : OrtMemoryInfo.DefaultInstance);
                }
                stage.Run(_runOptions);
                if (!stage.Stage.ProducesLogits)
                {
                    var names = binding.GetOutputNames();
                    var values = binding.GetOutputValues();
                    for (int i = 0; i < names.Length; i++)
                    {
                        Own(owned, values[i]);
                        if (names[i] == GraphNames.HiddenStatesOut) hidden = values[i];
                        else if (names[i] == GraphNames.TopkIndicesOut) topk = values[i];
                    }
                }
            }
        }
        finally
        {
            foreach (var value in owned)
                value.Dispose();
        }
        return new LogitsBuffer(_logits, rows, vocab);
    }

    internal IReadOnlyList<string> EndProfiling() =>
        _stages.Where(s => s.Profiling).Select(s => s.EndProfiling()).ToArray();

    public void Dispose()
    {
        foreach (var stage in _stages)
            stage.Dispose();
        _runOptions.Dispose();
    }

    private static OrtValue Own(List<OrtValue> owned, OrtValue value)
    {
        owned.Add(value);
        return value;
    }

    // The batch arrays are private to the ForwardBatch and never written by ORT (they are inputs).
    private static Memory<T> AsMemory<T>(ReadOnlyMemory<T> memory) => System.Runtime.InteropServices.MemoryMarshal.AsMemory(memory);
}
