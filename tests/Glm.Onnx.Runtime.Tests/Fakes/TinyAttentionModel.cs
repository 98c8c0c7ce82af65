using System.Text.Json;
using Glm.Onnx.Contracts;
using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.Converter.Onnx;

namespace Glm.Onnx.Tests.Fakes;

/// <summary>
/// A one-layer artifacts directory written by hand to the stage-graph contract: token embeddings feed the real
/// SparseMlaAttention custom op over a paged latent pool (one head), and a projection turns the attention output into
/// logits. Small enough that <see cref="ReferenceLogits"/> computes the same thing with plain loops, so the whole
/// ONNX Runtime path (GlmModel, pools bound in place, IOBinding, engine) is checked without the converter.
/// </summary>
public sealed class TinyAttentionModel
{
    public const int Vocab = 16;
    public const int Rank = 6;
    public const int Rope = 2;
    public const int Width = Rank + Rope;
    public const int BlockSize = 4;
    public const float Scale = 0.5f;

    public TinyAttentionModel(int seed = 11)
    {
        var random = new Random(seed);
        float Next() => (float)(random.NextDouble() * 2 - 1);
        KeyEmbedding = Enumerable.Range(0, Vocab * Width).Select(_ => Next()).ToArray();
        QueryEmbedding = Enumerable.Range(0, Vocab * Width).Select(_ => 2 * Next()).ToArray();
        Output = Enumerable.Range(0, Rank * Vocab).Select(_ => 3 * Next()).ToArray();
    }

    /// <summary>[Vocab, Width]: the cached latent row [c, r] of each token.</summary>
    public float[] KeyEmbedding { get; }

    /// <summary>[Vocab, Width]: each token's query [q_latent, q_rope].</summary>
    public float[] QueryEmbedding { get; }

    /// <summary>[Rank, Vocab]: attention output to logits.</summary>
    public float[] Output { get; }

    public void ReferenceLogits(ReadOnlySpan<int> history, Span<float> destination)
    {
        int p = history.Length - 1;
        var q = QueryEmbedding.AsSpan(history[p] * Width, Width);
        var scores = new double[p + 1];
        double max = double.NegativeInfinity;
        for (int t = 0; t <= p; t++)
        {
            var k = KeyEmbedding.AsSpan(history[t] * Width, Width);
            double dot = 0;
            for (int i = 0; i < Width; i++) dot += q[i] * k[i];
            scores[t] = Scale * dot;
            max = Math.Max(max, scores[t]);
        }
        double sum = 0;
        for (int t = 0; t <= p; t++) sum += scores[t] = Math.Exp(scores[t] - max);
        var o = new double[Rank];
        for (int t = 0; t <= p; t++)
            for (int i = 0; i < Rank; i++)
                o[i] += scores[t] / sum * KeyEmbedding[history[t] * Width + i];
        for (int v = 0; v < Vocab; v++)
        {
            double value = 0;
            for (int i = 0; i < Rank; i++) value += o[i] * Output[i * Vocab + v];
            destination[v] = (float)value;
        }
    }

    public int[] ReferenceGreedy(IReadOnlyList<int> prompt, int count)
    {
        var history = prompt.ToList();
        var logits = new float[Vocab];
        for (int n = 0; n < count; n++)
        {
            ReferenceLogits(history.ToArray(), logits);
            int best = 0;
            for (int v = 1; v < Vocab; v++) if (logits[v] > logits[best]) best = v;
            history.Add(best);
        }
        return history.Skip(prompt.Count).ToArray();
    }

    /// <summary>Writes stage-0.onnx and glm-model.json into <paramref name="directory"/>.</summary>
    /// <param name="declarePositions">False writes a graph that breaks the contract by leaving out <c>positions</c>.</param>
    public void Write(string directory, int[]? eos = null, bool declarePositions = true)
    {
        var g = new GraphBuilder("tiny-attention");
        var ids = g.Input(GraphNames.InputIds, OnnxDataType.Int64, "T");
        if (declarePositions)
            g.Input(GraphNames.Positions, OnnxDataType.Int64, "T");
        var cu = g.Input(GraphNames.CumulativeSequenceLengths, OnnxDataType.Int32, "B1");
        var past = g.Input(GraphNames.PastSequenceLengths, OnnxDataType.Int32, "B");
        var table = g.Input(GraphNames.BlockTable, OnnxDataType.Int32, "B", "M");
        var indices = g.Input(GraphNames.LogitsIndices, OnnxDataType.Int64, "N");
        var pool = g.Input(GraphNames.LatentPool(0), OnnxDataType.Float, "blocks", BlockSize, Width);
        var keyTable = g.Initializer(OnnxTensor.Float("embed.key", [Vocab, Width], KeyEmbedding));
        var queryTable = g.Initializer(OnnxTensor.Float("embed.query", [Vocab, Width], QueryEmbedding));
        var output = g.Initializer(OnnxTensor.Float("out.weight", [Rank, Vocab], Output));

        var key = g.Op("Gather", "key", [keyTable, ids]);
        var query = g.Op("Gather", "query", [queryTable, ids]);
        var kvLatent = g.Op("Slice", "kv_latent", [key, g.Int64s(0), g.Int64s(Rank), g.Int64s(1)]);
        var kRope = g.Op("Slice", "k_rope", [key, g.Int64s(Rank), g.Int64s(Width), g.Int64s(1)]);
        var qLatent = g.Op("Reshape", "q_latent", [g.Op("Slice", "q_latent.flat", [query, g.Int64s(0), g.Int64s(Rank), g.Int64s(1)]), g.Int64s(-1, 1, Rank)]);
        var qRope = g.Op("Reshape", "q_rope", [g.Op("Slice", "q_rope.flat", [query, g.Int64s(Rank), g.Int64s(Width), g.Int64s(1)]), g.Int64s(-1, 1, Rope)]);
        var attention = g.Node(CustomOpNames.SparseMlaAttention, ["attn_latent"], [qLatent, qRope, kvLatent, kRope, pool, cu, past, table],
            CustomOpNames.Domain, OnnxAttribute.Float("softmax_scale", Scale))[0];
        var flat = g.Op("Reshape", "attn.flat", [attention, g.Int64s(-1, Rank)]);
        var selected = g.Op("Gather", "attn.selected", [flat, indices]);
        var logits = g.Op("MatMul", GraphNames.Logits, [selected, output]);
        g.Output(logits, OnnxDataType.Float, "N", Vocab);
        var model = new OnnxModel(g.Build(), [new OnnxOpset("", 19), new OnnxOpset(CustomOpNames.Domain, CustomOpNames.DomainVersion)], "rt-tests", "1");
        var stagePath = Path.Combine(directory, "stage-0.onnx");
        File.WriteAllBytes(stagePath, model.ToBytes());

        var manifest = new ModelManifest
        {
            Format = ModelManifest.FormatName,
            FormatVersion = ModelManifest.CurrentFormatVersion,
            Producer = "rt-tests",
            ModelType = "glm_moe_dsa",
            SourceConfig = JsonDocument.Parse("{}").RootElement.Clone(),
            Dimensions = new ModelDimensions { VocabSize = Vocab, HiddenSize = Width, NumHiddenLayers = 1, IndexTopK = 8, MaxPositionEmbeddings = 256 },
            Precision = new PrecisionInfo { Target = "fp32", Embedding = "float32", Linear = "float32", Experts = "float32", LmHead = "float32", Norms = "float32" },
            Stages =
            [
                new StageManifest
                {
                    Index = 0, File = "stage-0.onnx", DataFiles = [], FirstLayer = 0, LayerCount = 1, EmbedsTokens = true,
                    ProducesLogits = true, TakesPrevTopk = false, EmitsTopk = false, IndexLayers = [], DeviceHint = "cpu",
                },
            ],
            Cache = new CacheLayout { BlockSize = BlockSize, LatentWidth = Width, KvLoraRank = Rank, QkRopeHeadDim = Rope, IndexWidth = 4, DType = "float32", IndexLayers = [] },
            CustomOps = new CustomOpRequirement { Domain = CustomOpNames.Domain, Version = CustomOpNames.DomainVersion, Ops = [CustomOpNames.SparseMlaAttention] },
            Tokenizer = new TokenizerFiles { Files = [] },
            Generation = new GenerationDefaults { EosTokenIds = eos ?? [] },
            Files = [new DataFileEntry { Path = "stage-0.onnx", Bytes = new FileInfo(stagePath).Length, Sha256 = ModelManifestJson.Sha256Hex(stagePath) }],
        };
        File.WriteAllText(Path.Combine(directory, ModelManifest.FileName), ModelManifestJson.Serialize(manifest));
    }
}
