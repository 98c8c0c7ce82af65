using Glm.Onnx.Runtime.Execution;

namespace Glm.Onnx.Tests.Fakes;

/// <summary>
/// A stand-in model whose next token is chosen by a policy over the sequence's full history. The history is read
/// back from a token pool addressed by the batch's block table, exactly like the real KV cache, so a packing or
/// block-table bug changes the output. Logits are 100 at the chosen id and 0 elsewhere: every other token's
/// probability underflows to 0 even at temperature 1 (the OpenAI default), so any sampling follows the policy.
/// </summary>
public sealed class ScriptedExecutor : IModelExecutor
{
    private readonly Func<IReadOnlyList<int>, int> _policy;
    private readonly int[] _pool;
    private float[] _logits = [];
    private int _maxBatch;
    private long _forwardCalls;

    public ScriptedExecutor(int vocab, Func<IReadOnlyList<int>, int> policy, int[] eos, int blockSize = 4, int numBlocks = 2048, int maxSequenceLength = 4096)
    {
        _policy = policy;
        Info = new ModelExecutorInfo(vocab, blockSize, numBlocks, maxSequenceLength, eos);
        _pool = new int[numBlocks * blockSize];
    }

    public ModelExecutorInfo Info { get; }

    /// <summary>Sleep this long in every forward call (keeps a generation running while a test disconnects).</summary>
    public int StepDelayMilliseconds { get; set; }

    /// <summary>Most sequences seen in one forward call (above 1 shows that concurrent requests were batched).</summary>
    public int MaxBatch => Volatile.Read(ref _maxBatch);

    public long ForwardCalls => Interlocked.Read(ref _forwardCalls);

    /// <summary>Forward waits (up to 30 s) while this is reset: a test holds a step to look at the server mid-step.</summary>
    public ManualResetEventSlim Proceed { get; } = new(initialState: true);

    /// <summary>How the next forward calls break, to test failure reporting (health, 5xx logging).</summary>
    public ScriptedFault Fault { get; set; }

    public LogitsBuffer Forward(ForwardBatch batch)
    {
        Interlocked.Increment(ref _forwardCalls);
        Proceed.Wait(TimeSpan.FromSeconds(30));
        if (StepDelayMilliseconds > 0)
            Thread.Sleep(StepDelayMilliseconds);
        if (Fault == ScriptedFault.Throw)
            throw new InvalidOperationException("scripted executor failure");
        if (batch.SequenceCount > _maxBatch)
            Volatile.Write(ref _maxBatch, batch.SequenceCount);
        int blockSize = Info.BlockSize;
        var ids = batch.InputIds.Span;
        var cu = batch.CumulativeSequenceLengths.Span;
        var past = batch.PastSequenceLengths.Span;
        for (int b = 0; b < batch.SequenceCount; b++)
        {
            var table = batch.BlockTableRow(b);
            for (int j = 0; j < cu[b + 1] - cu[b]; j++)
            {
                int p = past[b] + j;
                _pool[table[p / blockSize] * blockSize + p % blockSize] = checked((int)ids[cu[b] + j]);
            }
        }
        int vocab = Info.VocabSize;
        int rows = batch.LogitsCount;
        if (_logits.Length < rows * vocab)
            _logits = new float[rows * vocab];
        Array.Clear(_logits, 0, rows * vocab);
        var indices = batch.LogitsIndices.Span;
        for (int r = 0; r < rows; r++)
        {
            int row = (int)indices[r];
            int b = 0;
            while (cu[b + 1] <= row) b++;
            int p = past[b] + row - cu[b];
            var table = batch.BlockTableRow(b);
            var history = new int[p + 1];
            for (int t = 0; t <= p; t++)
                history[t] = _pool[table[t / blockSize] * blockSize + t % blockSize];
            int next = _policy(history);
            _logits[r * vocab + next] = Fault == ScriptedFault.NaN ? float.NaN : 100f;
        }
        return new LogitsBuffer(_logits, rows, vocab);
    }

    public void Dispose() => Proceed.Dispose();
}

public enum ScriptedFault
{
    None,

    /// <summary>Forward throws, as an executor whose device failed.</summary>
    Throw,

    /// <summary>Forward returns NaN logits, as a model whose numbers went bad.</summary>
    NaN,
}
