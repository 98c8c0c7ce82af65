using Glm.Onnx.Runtime.Execution;

namespace Glm.Onnx.Tests.Fakes;

/// <summary>
/// A deterministic stand-in for the model: its "KV cache" is a pool of token ids addressed exactly like the real
/// pools (block table, block size), and the logits at a position are a pure function of the tokens it reads back from
/// that pool for positions 0..p. So batched output equals isolated output only if the engine packs batches correctly,
/// and any block-table, prefix-caching or preemption bug changes the logits. It checks the batch against the graph
/// contract on every call, like the custom ops do.
/// </summary>
public sealed class FakeModelExecutor : IModelExecutor
{
    private readonly int[] _pool;
    private float[] _logits = [];

    public FakeModelExecutor(int vocab = 32, int blockSize = 4, int numBlocks = 256, int maxSequenceLength = 4096, int[]? eos = null)
    {
        Info = new ModelExecutorInfo(vocab, blockSize, numBlocks, maxSequenceLength, eos ?? []);
        _pool = new int[numBlocks * blockSize];
        Array.Fill(_pool, -1);
    }

    public ModelExecutorInfo Info { get; }

    public int ForwardCalls { get; private set; }

    /// <summary>Tokens per sequence of every call, in order (the chunking the scheduler chose).</summary>
    public List<int[]> ChunkSizes { get; } = new();

    /// <summary>Forward call number (1-based) that waits for <see cref="Resume"/> after signalling <see cref="Paused"/>.</summary>
    public int PauseAtCall { get; set; }

    public ManualResetEventSlim Paused { get; } = new();

    public ManualResetEventSlim Resume { get; } = new();

    /// <summary>Makes the next Forward throw (to test failure handling).</summary>
    public Exception? FailNext { get; set; }

    /// <summary>The reference: logits of the token after <paramref name="history"/> (positions 0..p inclusive).</summary>
    public static void ReferenceLogits(ReadOnlySpan<int> history, Span<float> destination)
    {
        ulong h = 0x243F6A8885A308D3UL;
        foreach (var token in history)
            h = Mix(h ^ (uint)(token + 1)) * 31 + 7;
        for (int v = 0; v < destination.Length; v++)
        {
            ulong z = Mix(h + (ulong)v * 0x9E3779B97F4A7C15UL);
            destination[v] = (float)((z >> 40) / (double)(1UL << 24)) * 8f - 4f; // [-4, 4)
        }
    }

    public LogitsBuffer Forward(ForwardBatch batch)
    {
        if (FailNext is { } failure)
        {
            FailNext = null;
            throw failure;
        }
        ForwardCalls++;
        if (ForwardCalls == PauseAtCall)
        {
            Paused.Set();
            Resume.Wait();
        }
        int blockSize = Info.BlockSize;
        var ids = batch.InputIds.Span;
        var positions = batch.Positions.Span;
        var cu = batch.CumulativeSequenceLengths.Span;
        var past = batch.PastSequenceLengths.Span;
        var sizes = new int[batch.SequenceCount];
        var written = new HashSet<int>();

        // Write every new token into the pool first (as the ops do), checking the contract.
        for (int b = 0; b < batch.SequenceCount; b++)
        {
            sizes[b] = cu[b + 1] - cu[b];
            if (sizes[b] <= 0) throw new InvalidOperationException($"sequence {b} has no new tokens");
            if (past[b] < 0) throw new InvalidOperationException($"past_sequence_lengths[{b}] = {past[b]}");
            var table = batch.BlockTableRow(b);
            var writtenBySequence = new HashSet<int>();
            for (int j = 0; j < sizes[b]; j++)
            {
                int p = past[b] + j;
                if (positions[cu[b] + j] != p)
                    throw new InvalidOperationException($"positions[{cu[b] + j}] = {positions[cu[b] + j]}, expected {p}");
                int block = BlockOf(table, p, b);
                writtenBySequence.Add(block);
                _pool[block * blockSize + p % blockSize] = checked((int)ids[cu[b] + j]);
            }
            foreach (var block in writtenBySequence)
                if (!written.Add(block))
                    throw new InvalidOperationException($"block {block} is written by two sequences in one step");
        }
        ChunkSizes.Add(sizes);

        int vocab = Info.VocabSize;
        int rows = batch.LogitsCount;
        if (_logits.Length < rows * vocab)
            _logits = new float[rows * vocab];
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
            {
                history[t] = _pool[BlockOf(table, t, b) * blockSize + t % blockSize];
                if (history[t] < 0)
                    throw new InvalidOperationException($"sequence {b} reads position {t}, which was never written");
            }
            ReferenceLogits(history, _logits.AsSpan(r * vocab, vocab));
        }
        return new LogitsBuffer(_logits, rows, vocab);
    }

    public void Dispose()
    {
        Paused.Dispose();
        Resume.Dispose();
    }

    private int BlockOf(ReadOnlySpan<int> table, int position, int sequence)
    {
        int slot = position / Info.BlockSize;
        if (slot >= table.Length)
            throw new InvalidOperationException($"sequence {sequence} position {position} is beyond its block table of {table.Length}");
        int block = table[slot];
        if (block < 0 || block >= Info.NumBlocks)
            throw new InvalidOperationException($"sequence {sequence} block table entry {slot} = {block}");
        return block;
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
