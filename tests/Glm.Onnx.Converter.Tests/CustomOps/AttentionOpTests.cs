using Glm.Onnx.Contracts;
using Glm.Onnx.Converter.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace Glm.Onnx.Tests.CustomOps;

/// <summary>
/// LightningIndexer and SparseMlaAttention as single-node graphs over paged pools (two sequences with different past
/// lengths, block size 4, a scrambled block table) against plain C# loops over contiguous per-sequence caches.
/// </summary>
public sealed class AttentionOpTests
{
    private const int BlockSize = 4, NumBlocks = 8;
    private static readonly int[] Past = [5, 2];
    private static readonly int[] NewTokens = [3, 1];
    private static readonly int[,] Table = { { 6, 1, 3 }, { 0, 7, 2 } };

    [Fact]
    public void SparseMlaAttentionMatchesDenseCausalReference()
    {
        const int heads = 2, rank = 8, rope = 4, width = rank + rope;
        const float scale = 0.3f;
        var rng = new Random(3);
        int T = NewTokens.Sum();
        var (pool, qLat, qRope, kvLat, kRope) = MlaInputs(rng, heads, rank, rope);
        // Per-sequence contiguous caches: past rows from the pool, new rows from the inputs.
        var caches = BuildCaches(pool, width, (tok, row) => { kvLat.AsSpan(tok * rank, rank).CopyTo(row); kRope.AsSpan(tok * rope, rope).CopyTo(row[rank..]); });

        using var poolV = OrtValue.CreateTensorValueFromMemory(pool, [NumBlocks, BlockSize, width]);
        var output = Run(CustomOpNames.SparseMlaAttention,
            [("q_latent", OnnxDataType.Float, Value(qLat, T, heads, rank)), ("q_rope", OnnxDataType.Float, Value(qRope, T, heads, rope)),
             ("kv_latent", OnnxDataType.Float, Value(kvLat, T, rank)), ("k_rope", OnnxDataType.Float, Value(kRope, T, rope)),
             ("latent_pool", OnnxDataType.Float, poolV)],
            [("attn_latent", OnnxDataType.Float)], OnnxAttribute.Float("softmax_scale", scale))[0].GetTensorDataAsSpan<float>().ToArray();

        int tok = 0;
        for (int b = 0; b < Past.Length; b++)
            for (int j = 0; j < NewTokens[b]; j++, tok++)
            {
                int p = Past[b] + j;
                for (int h = 0; h < heads; h++)
                {
                    var scores = new double[p + 1];
                    for (int t = 0; t <= p; t++)
                    {
                        double s = 0;
                        for (int d = 0; d < rank; d++) s += qLat[(tok * heads + h) * rank + d] * caches[b][t][d];
                        for (int d = 0; d < rope; d++) s += qRope[(tok * heads + h) * rope + d] * caches[b][t][rank + d];
                        scores[t] = s * scale;
                    }
                    double max = scores.Max(), sum = scores.Sum(s => Math.Exp(s - max));
                    for (int d = 0; d < rank; d++)
                    {
                        double o = 0;
                        for (int t = 0; t <= p; t++) o += Math.Exp(scores[t] - max) / sum * caches[b][t][d];
                        Assert.Equal(o, output[(tok * heads + h) * rank + d], 4);
                    }
                }
            }
        // The new rows were written into the caller's pool in place.
        var written = poolV.GetTensorDataAsSpan<float>();
        Assert.Equal(kvLat[0], written[(Table[0, 1] * BlockSize + 1) * width]); // sequence 0, position 5 = block 1 row 1
    }

    [Fact]
    public void LightningIndexerSelectsTheTopScoringCausalKeys()
    {
        const int heads = 3, dim = 8, topK = 3;
        float scale = 1f / MathF.Sqrt(dim);
        var rng = new Random(5);
        int T = NewTokens.Sum();
        var (pool, q, k, w) = IndexerInputs(rng, heads, dim);
        var caches = BuildCaches(pool, dim, (tok, row) => k.AsSpan(tok * dim, dim).CopyTo(row));

        using var poolV = OrtValue.CreateTensorValueFromMemory(pool, [NumBlocks, BlockSize, dim]);
        var output = Run(CustomOpNames.LightningIndexer,
            [("index_q", OnnxDataType.Float, Value(q, T, heads, dim)), ("index_k", OnnxDataType.Float, Value(k, T, dim)),
             ("head_weights", OnnxDataType.Float, Value(w, T, heads)), ("index_pool", OnnxDataType.Float, poolV)],
            [("topk_indices", OnnxDataType.Int32)], OnnxAttribute.Int("index_topk", topK), OnnxAttribute.Float("scale", scale))[0]
            .GetTensorDataAsSpan<int>().ToArray();

        int tok = 0;
        for (int b = 0; b < Past.Length; b++)
            for (int j = 0; j < NewTokens[b]; j++, tok++)
            {
                int p = Past[b] + j;
                var score = new double[p + 1];
                for (int t = 0; t <= p; t++)
                    for (int h = 0; h < heads; h++)
                    {
                        double dot = 0;
                        for (int d = 0; d < dim; d++) dot += q[(tok * heads + h) * dim + d] * caches[b][t][d];
                        score[t] += w[tok * heads + h] * Math.Max(0, dot * scale);
                    }
                var expected = Enumerable.Range(0, p + 1).OrderByDescending(t => score[t]).ThenBy(t => t).Take(topK).Order().ToArray();
                var row = output.AsSpan(tok * topK, topK).ToArray();
                Assert.Equal(expected, row.Where(i => i >= 0).Order().ToArray());
                Assert.All(row, i => Assert.True(i <= p, $"token at position {p} selected future key {i}"));
            }
    }

    [Fact]
    public void SparseMlaAttentionRotatesWithRopeTablesAsRotaryEmbeddingDoes()
    {
        const int heads = 3, rank = 8, rope = 6;
        var rng = new Random(7);
        int T = NewTokens.Sum();
        var (pool, qLat, qRope, kvLat, kRope) = MlaInputs(rng, heads, rank, rope);
        var (cos, sin) = RopeTables(rng, T, rope);
        var topk = CausalSelection(T);

        // Rotated before the op by ONNX Runtime's own RotaryEmbedding, as the stage graphs did before the tables.
        var qRotated = RotaryEmbedding(qRope, T, heads, rope, rope, cos, sin);
        var kRotated = RotaryEmbedding(kRope, T, 1, rope, rope, cos, sin);
        float[] Attend(float[] q, float[] k, float[] poolCopy, bool tables)
        {
            using var poolV = OrtValue.CreateTensorValueFromMemory(poolCopy, [NumBlocks, BlockSize, rank + rope]);
            var inputs = new List<(string, OnnxDataType, OrtValue)>
            {
                ("q_latent", OnnxDataType.Float, Value(qLat, T, heads, rank)), ("q_rope", OnnxDataType.Float, Value(q, T, heads, rope)),
                ("kv_latent", OnnxDataType.Float, Value(kvLat, T, rank)), ("k_rope", OnnxDataType.Float, Value(k, T, rope)),
                ("latent_pool", OnnxDataType.Float, poolV),
            };
            var after = new List<(string, OnnxDataType, OrtValue)> { ("topk_indices", OnnxDataType.Int32, OrtValue.CreateTensorValueFromMemory(topk, [T, 8])) };
            if (tables) after.AddRange([("rope_cos", OnnxDataType.Float, Value(cos, T, rope / 2)), ("rope_sin", OnnxDataType.Float, Value(sin, T, rope / 2))]);
            return Run(CustomOpNames.SparseMlaAttention, inputs.ToArray(), [("attn_latent", OnnxDataType.Float)], after.ToArray(),
                OnnxAttribute.Float("softmax_scale", 0.3f))[0].GetTensorDataAsSpan<float>().ToArray();
        }
        var poolBefore = (float[])pool.Clone();
        var poolHere = (float[])pool.Clone();
        var before = Attend(qRotated, kRotated, poolBefore, tables: false);
        var here = Attend(qRope, kRope, poolHere, tables: true);
        AssertClose(before, here, 1e-5);
        AssertClose(poolBefore, poolHere, 1e-6);
        Assert.NotEqual(qRope, qRotated);
    }

    [Fact]
    public void LightningIndexerRotatesWithRopeTablesAsRotaryEmbeddingDoes()
    {
        const int heads = 3, dim = 8, rotary = 4, topK = 3;
        var rng = new Random(9);
        int T = NewTokens.Sum();
        var (pool, q, k, w) = IndexerInputs(rng, heads, dim);
        var (cos, sin) = RopeTables(rng, T, rotary);
        var qRotated = RotaryEmbedding(q, T, heads, dim, rotary, cos, sin);
        var kRotated = RotaryEmbedding(k, T, 1, dim, rotary, cos, sin);
        int[] Select(OrtValue qValue, float[] keys, float[] poolCopy, bool tables)
        {
            using var poolV = OrtValue.CreateTensorValueFromMemory(poolCopy, [NumBlocks, BlockSize, dim]);
            (string, OnnxDataType, OrtValue)[] after = tables
                ? [("rope_cos", OnnxDataType.Float, Value(cos, T, rotary / 2)), ("rope_sin", OnnxDataType.Float, Value(sin, T, rotary / 2))]
                : [];
            return Run(CustomOpNames.LightningIndexer,
                [("index_q", OnnxDataType.Float, qValue), ("index_k", OnnxDataType.Float, Value(keys, T, dim)),
                 ("head_weights", OnnxDataType.Float, Value(w, T, heads)), ("index_pool", OnnxDataType.Float, poolV)],
                [("topk_indices", OnnxDataType.Int32)], after, OnnxAttribute.Int("index_topk", topK))[0].GetTensorDataAsSpan<int>().ToArray();
        }
        var poolBefore = (float[])pool.Clone();
        var poolHere = (float[])pool.Clone();
        var before = Select(Value(qRotated, T, heads, dim), kRotated, poolBefore, tables: false);
        // Unrotated q as a projection emits it, [T, heads * dim]: the op takes the heads from head_weights.
        var here = Select(Value(q, T, heads * dim), k, poolHere, tables: true);
        Assert.Equal(before, here);
        AssertClose(poolBefore, poolHere, 1e-6);
    }

    private static void AssertClose(float[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"element {i}: expected {expected[i]}, got {actual[i]}");
    }

    /// <summary>
    /// Random SparseMlaAttention inputs for the test batch, drawn in this order: the latent pool [blocks, block size,
    /// rank + rope], q_latent, q_rope, kv_latent, k_rope.
    /// </summary>
    private static (float[] Pool, float[] QLatent, float[] QRope, float[] KvLatent, float[] KRope) MlaInputs(
        Random rng, int heads, int rank, int rope)
    {
        int t = NewTokens.Sum();
        return (SingleNodeGraph.RandomFloats(rng, NumBlocks * BlockSize * (rank + rope)),
            SingleNodeGraph.RandomFloats(rng, t * heads * rank), SingleNodeGraph.RandomFloats(rng, t * heads * rope),
            SingleNodeGraph.RandomFloats(rng, t * rank), SingleNodeGraph.RandomFloats(rng, t * rope));
    }

    /// <summary>
    /// Random LightningIndexer inputs for the test batch, drawn in this order: the key pool [blocks, block size, dim],
    /// index_q, index_k, head_weights.
    /// </summary>
    private static (float[] Pool, float[] Q, float[] K, float[] W) IndexerInputs(Random rng, int heads, int dim)
    {
        int t = NewTokens.Sum();
        return (SingleNodeGraph.RandomFloats(rng, NumBlocks * BlockSize * dim), SingleNodeGraph.RandomFloats(rng, t * heads * dim),
            SingleNodeGraph.RandomFloats(rng, t * dim), SingleNodeGraph.RandomFloats(rng, t * heads));
    }

    /// <summary>cos / sin rows [tokens, rotary / 2] of random positions (0..4095) at theta 10000.</summary>
    private static (float[] Cos, float[] Sin) RopeTables(Random rng, int tokens, int rotary)
    {
        var cos = new float[tokens * rotary / 2];
        var sin = new float[cos.Length];
        for (int t = 0; t < tokens; t++)
        {
            int position = rng.Next(4096);
            for (int i = 0; i < rotary / 2; i++)
            {
                float angle = position * (1f / MathF.Pow(10000f, 2f * i / rotary));
                cos[t * rotary / 2 + i] = MathF.Cos(angle);
                sin[t * rotary / 2 + i] = MathF.Sin(angle);
            }
        }
        return (cos, sin);
    }

    /// <summary>x [tokens, heads, headSize] rotated by com.microsoft.RotaryEmbedding (interleaved, the first rotary dims).</summary>
    private static float[] RotaryEmbedding(float[] x, int tokens, int heads, int headSize, int rotary, float[] cos, float[] sin)
    {
        using var input = Value(x, 1, tokens, heads * headSize);
        using var offset = OrtValue.CreateTensorValueFromMemory(new long[] { 0 }, [1]);
        using var cosV = Value(cos, tokens, rotary / 2);
        using var sinV = Value(sin, tokens, rotary / 2);
        return SingleNodeGraph.Run("RotaryEmbedding", "com.microsoft",
            [("input", OnnxDataType.Float, input), ("position_ids", OnnxDataType.Int64, offset), ("cos_cache", OnnxDataType.Float, cosV),
             ("sin_cache", OnnxDataType.Float, sinV)],
            [("output", OnnxDataType.Float)], OnnxAttribute.Int("interleaved", 1), OnnxAttribute.Int("num_heads", heads),
            OnnxAttribute.Int("rotary_embedding_dim", rotary))[0].GetTensorDataAsSpan<float>().ToArray();
    }

    /// <summary>Each token's causal positions 0..p (8 slots, -1 padding): the whole causal context as a selection.</summary>
    private static int[] CausalSelection(int tokens)
    {
        var rows = new int[tokens * 8];
        int tok = 0;
        for (int b = 0; b < Past.Length; b++)
            for (int j = 0; j < NewTokens[b]; j++, tok++)
                for (int s = 0; s < 8; s++) rows[tok * 8 + s] = s <= Past[b] + j ? s : -1;
        return rows;
    }

    /// <summary>Per sequence, rows 0..past+new-1 as the op must see them after writing the new tokens.</summary>
    private static float[][][] BuildCaches(float[] pool, int width, Action<int, Span<float>> newRow)
    {
        var caches = new float[Past.Length][][];
        int tok = 0;
        for (int b = 0; b < Past.Length; b++)
        {
            caches[b] = new float[Past[b] + NewTokens[b]][];
            for (int t = 0; t < Past[b]; t++)
                caches[b][t] = pool.AsSpan((Table[b, t / BlockSize] * BlockSize + t % BlockSize) * width, width).ToArray();
            for (int j = 0; j < NewTokens[b]; j++, tok++)
            {
                caches[b][Past[b] + j] = new float[width];
                newRow(tok, caches[b][Past[b] + j]);
            }
        }
        return caches;
    }

    private static OrtValue Value(float[] data, params long[] shape) => OrtValue.CreateTensorValueFromMemory(data, shape);

    private static OrtValue[] Run(string op, (string, OnnxDataType, OrtValue)[] inputs, (string, OnnxDataType)[] outputs, params OnnxAttribute[] attrs) =>
        Run(op, inputs, outputs, [], attrs);

    /// <summary>The op over the shared paged batch: inputs, then the batch's three, then <paramref name="after"/>.</summary>
    private static OrtValue[] Run(string op, (string, OnnxDataType, OrtValue)[] inputs, (string, OnnxDataType)[] outputs,
        (string, OnnxDataType, OrtValue)[] after, params OnnxAttribute[] attrs)
    {
        int batch = Past.Length;
        var cu = new int[batch + 1];
        for (int b = 0; b < batch; b++) cu[b + 1] = cu[b] + NewTokens[b];
        var table = new int[Table.Length];
        Buffer.BlockCopy(Table, 0, table, 0, table.Length * 4);
        using var cuV = OrtValue.CreateTensorValueFromMemory(cu, [batch + 1]);
        using var pastV = OrtValue.CreateTensorValueFromMemory(Past.ToArray(), [batch]);
        using var tableV = OrtValue.CreateTensorValueFromMemory(table, [batch, Table.GetLength(1)]);
        var all = inputs.Concat([("cumulative_sequence_lengths", OnnxDataType.Int32, cuV), ("past_sequence_lengths", OnnxDataType.Int32, pastV),
            ("block_table", OnnxDataType.Int32, tableV)]).Concat(after).ToArray();
        return SingleNodeGraph.Run(op, all, outputs, attrs);
    }
}
