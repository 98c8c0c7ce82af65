using System.Diagnostics;
using Glm.Onnx.Contracts;
using Glm.Onnx.Contracts.Stages;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Glm.Onnx.Runtime.Execution;

/// <summary>
/// Runs a step through the stage sessions in order, binding what each stage's contract lists: the batch description
/// to every stage, the token ids to the first, the previous stage's hidden states (and top-k indices across an
/// IndexShare boundary) to each later one; the last stage writes its logits (and final hidden states, when the model
/// has an MTP stage) straight into reused managed buffers. The MTP draft stage runs through the same binding code
/// (<see cref="ForwardDraft"/>), with its own host buffers.
/// </summary>
public sealed class OrtModelExecutor : IModelExecutor
{
    private readonly IReadOnlyList<StageSession> _stages;
    private readonly StageSession? _draft;
    private readonly RunOptions _runOptions = new();
    private readonly HostBuffers _main = new(), _drafted = new();
    private readonly BatchTensors _mainBatch = new(), _draftBatch = new();
    private long _runTicks;

    internal OrtModelExecutor(IReadOnlyList<StageSession> stages, StageSession? draft, ModelExecutorInfo info)
    {
        _stages = stages;
        _draft = draft;
        Info = info;
    }

    public ModelExecutorInfo Info { get; }

    public TimeSpan RunTime => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _runTicks));

    private void Run(StageSession stage)
    {
        long start = Stopwatch.GetTimestamp();
        stage.Run(_runOptions);
        Interlocked.Add(ref _runTicks, Stopwatch.GetTimestamp() - start);
    }

    public LogitsBuffer Forward(ForwardBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        int rows = batch.LogitsCount, hiddenSize = Info.HiddenSize;
        var owned = new List<OrtValue>();
        try
        {
            var values = _mainBatch.Fill(batch);
            var outputs = _main.Bind(rows, Info.VocabSize, hiddenSize, tokens: 0, topk: 0);
            OrtValue? hidden = null, topk = null;
            for (int k = 0; k < _stages.Count; k++)
            {
                var stage = _stages[k];
                BindInputs(stage, values, hidden, topk);
                // Device outputs are produced where the next stage runs (host, or its CUDA device): ORT copies across
                // devices once, at the end of this Run, and the next stage takes the value as is.
                BindOutputs(stage, outputs, k + 1 < _stages.Count ? _stages[k + 1].InputMemory : OrtMemoryInfo.DefaultInstance);
                Run(stage);
                if (!stage.Stage.ProducesLogits)
                {
                    var names = stage.Binding.GetOutputNames();
                    var results = stage.Binding.GetOutputValues();
                    for (int i = 0; i < names.Length; i++)
                    {
                        owned.Add(results[i]);
                        if (names[i] == GraphNames.HiddenStatesOut) hidden = results[i];
                        else if (names[i] == GraphNames.TopkIndicesOut) topk = results[i];
                    }
                }
            }
        }
        finally
        {
            foreach (var value in owned)
                value.Dispose();
        }
        return new LogitsBuffer(_main.Logits, rows, Info.VocabSize, _main.Hidden, hiddenSize);
    }

    public DraftOutput ForwardDraft(DraftBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (_draft is null)
            throw new NotSupportedException("This model has no MTP draft stage (glm-model.json has no mtp_stage).");
        var tokens = batch.Tokens;
        int t = tokens.TokenCount, rows = tokens.LogitsCount, hiddenSize = Info.HiddenSize, k = Info.IndexTopK;
        if (batch.Hidden.Length != (long)t * hiddenSize)
            throw new ArgumentException($"Draft hidden states: expected {t} x {hiddenSize} floats, got {batch.Hidden.Length}.", nameof(batch));
        if (!batch.PrevTopk.IsEmpty && batch.PrevTopk.Length != (long)t * k)
            throw new ArgumentException($"Draft prev_topk: expected {t} x {k} entries or none, got {batch.PrevTopk.Length}.", nameof(batch));
        var owned = new List<OrtValue>();
        try
        {
            var values = _draftBatch.Fill(tokens);
            var hidden = Own(owned, OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, AsMemory(batch.Hidden), [t, hiddenSize]));
            // No previous selection: a [0, index_topk] tensor, so that the layer keeps its own (docs/onnx-contract.md).
            var prev = Own(owned, batch.PrevTopk.IsEmpty
                ? OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Int32, [0, k])
                : OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, AsMemory(batch.PrevTopk), [t, k]));
            var outputs = _drafted.Bind(rows, Info.VocabSize, hiddenSize, t, k);
            BindInputs(_draft, values, hidden, prev);
            BindOutputs(_draft, outputs, OrtMemoryInfo.DefaultInstance);
            Run(_draft);
        }
        finally
        {
            foreach (var value in owned)
                value.Dispose();
        }
        return new DraftOutput(new LogitsBuffer(_drafted.Logits, rows, Info.VocabSize, _drafted.Hidden, hiddenSize),
            _drafted.Topk.AsMemory(0, t * k), k);
    }

    /// <summary>Binds a stage's non-pool contract inputs (pools are bound once, at load).</summary>
    private static void BindInputs(StageSession stage, BatchValues b, OrtValue? hidden, OrtValue? topk)
    {
        foreach (var input in stage.Contract.Inputs)
        {
            if (input.IsPool)
                continue;
            stage.Bind(input, input.Kind switch
            {
                StageTensorKind.InputIds => b.Ids,
                StageTensorKind.HiddenStates => hidden ?? throw new InvalidOperationException(
                    $"Stage {stage.Stage.Index} takes {input.Name} but nothing produced it."),
                StageTensorKind.Positions => b.Positions,
                StageTensorKind.CumulativeSequenceLengths => b.Cu,
                StageTensorKind.PastSequenceLengths => b.Past,
                StageTensorKind.BlockTable => b.Table,
                StageTensorKind.LogitsIndices => b.Indices,
                StageTensorKind.PrevTopkIndices => topk ?? throw new InvalidDataException(
                    $"Stage {stage.Stage.Index} takes {input.Name} but the previous stage emits none."),
                _ => throw new InvalidOperationException($"Stage {stage.Stage.Index}: the contract input '{input.Name}' ({input.Kind}) has no source."),
            });
        }
    }

    /// <summary>Binds host outputs into the executor's buffers, the rest to the memory of the stage that reads them.</summary>
    private static void BindOutputs(StageSession stage, IReadOnlyDictionary<StageTensorKind, OrtValue> host, OrtMemoryInfo next)
    {
        var binding = stage.Binding;
        binding.ClearBoundOutputs();
        foreach (var output in stage.Contract.Outputs)
        {
            if (output.Memory == StageMemory.Host && host.TryGetValue(output.Kind, out var value))
                binding.BindOutput(output.Name, value); // straight into the reused host buffer
            else
                binding.BindOutputToDevice(output.Name, output.Memory == StageMemory.Device ? next : OrtMemoryInfo.DefaultInstance);
        }
    }

    internal IReadOnlyList<string> EndProfiling() =>
        _stages.Append(_draft).OfType<StageSession>().Where(s => s.Profiling).Select(s => s.EndProfiling()).ToArray();

    public void Dispose()
    {
        foreach (var stage in _stages)
            stage.Dispose();
        _draft?.Dispose();
        _runOptions.Dispose();
        _mainBatch.Dispose();
        _draftBatch.Dispose();
        _main.Dispose();
        _drafted.Dispose();
    }

    private static OrtValue Own(List<OrtValue> owned, OrtValue value)
    {
        owned.Add(value);
        return value;
    }

    // The batch arrays are private to the ForwardBatch and never written by ORT (they are inputs).
    private static Memory<T> AsMemory<T>(ReadOnlyMemory<T> memory) => System.Runtime.InteropServices.MemoryMarshal.AsMemory(memory);

    /// <summary>The batch description's host tensors of one call.</summary>
    private sealed record BatchValues(OrtValue Ids, OrtValue Positions, OrtValue Cu, OrtValue Past, OrtValue Table, OrtValue Indices);

    /// <summary>
    /// The batch description as host tensors reused across calls: each step copies its few numbers into them, and a
    /// tensor is made anew only when its shape changes (a new block column, another batch size).
    /// </summary>
    private sealed class BatchTensors : IDisposable
    {
        private readonly ReusedTensor<long> _ids = new(), _positions = new(), _indices = new();
        private readonly ReusedTensor<int> _cu = new(), _past = new(), _table = new();

        public BatchValues Fill(ForwardBatch batch) => new(
            _ids.Fill(batch.InputIds.Span, batch.TokenCount),
            _positions.Fill(batch.Positions.Span, batch.TokenCount),
            _cu.Fill(batch.CumulativeSequenceLengths.Span, batch.SequenceCount + 1),
            _past.Fill(batch.PastSequenceLengths.Span, batch.SequenceCount),
            _table.Fill(batch.BlockTable.Span, batch.SequenceCount, batch.MaxBlocks),
            _indices.Fill(batch.LogitsIndices.Span, batch.LogitsCount));

        public void Dispose()
        {
            foreach (var tensor in new IDisposable[] { _ids, _positions, _indices, _cu, _past, _table })
                tensor.Dispose();
        }
    }

    /// <summary>
    /// Reused output buffers (grown, never shrunk) for the logits, final hidden and top-k of a call, with their
    /// tensors kept while the call's shapes repeat.
    /// </summary>
    private sealed class HostBuffers : IDisposable
    {
        private readonly ReusedTensor<float> _logits = new(), _hidden = new();
        private readonly ReusedTensor<int> _topk = new();
        private readonly Dictionary<StageTensorKind, OrtValue> _values = new();

        public float[] Logits => _logits.Array;
        public float[] Hidden => _hidden.Array;
        public int[] Topk => _topk.Array;

        /// <summary>Wraps the first rows of each buffer as the call's host outputs, keyed by the contract's kinds.</summary>
        public Dictionary<StageTensorKind, OrtValue> Bind(int rows, int vocab, int hiddenSize, int tokens, int topk)
        {
            _values.Clear();
            // A step without logits (a prefill chunk) still binds a non-null buffer of [0, vocab].
            _values[StageTensorKind.Logits] = _logits.View(rows, vocab);
            if (hiddenSize > 0)
                _values[StageTensorKind.FinalHidden] = _hidden.View(rows, hiddenSize);
            if (topk > 0)
                _values[StageTensorKind.TopkIndicesOut] = _topk.View(tokens, topk);
            return _values;
        }

        public void Dispose()
        {
            _logits.Dispose();
            _hidden.Dispose();
            _topk.Dispose();
        }
    }
}
