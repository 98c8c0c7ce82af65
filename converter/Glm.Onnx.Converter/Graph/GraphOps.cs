using Glm.Onnx.Contracts;
using Glm.Onnx.Converter.Onnx;
using Glm.Onnx.Converter.Weights;

namespace Glm.Onnx.Converter.Graph;

/// <summary>The standard-op building blocks of a GLM layer, each naming its intermediates under a prefix.</summary>
public static class GraphOps
{
    /// <summary>
    /// y = x @ W^T with W in the checkpoint's [out, in] layout, by the op its storage calls for: Gemm (transB) on a
    /// float32 weight; com.microsoft.MatMulNBits on an int8 / int4 one (or DenseProjection, <c>--dense-op</c>);
    /// DenseProjection on a bf16 or block-FP8 one.
    /// The last two read the stored bytes directly: no float32 copy at load, no per-step Cast.
    /// </summary>
    public static string Linear(GraphBuilder g, string x, LinearWeight weight, string output) => weight.Kernel switch
    {
        LinearKernel.Gemm => g.Op("Gemm", output, [x, weight.Weight], OnnxAttribute.Int("transB", 1)),
        LinearKernel.MatMulNBits => g.Node("MatMulNBits", [output], [x, weight.Weight, weight.Scales!], MicrosoftDomain,
            OnnxAttribute.Int("K", weight.K), OnnxAttribute.Int("N", weight.N), OnnxAttribute.Int("bits", weight.Bits),
            OnnxAttribute.Int("block_size", weight.BlockSize), OnnxAttribute.Int("accuracy_level", weight.AccuracyLevel))[0],
        LinearKernel.DenseProjection => DenseProjectionNode(g, x, weight, groups: 1, output),
        _ => throw new ArgumentOutOfRangeException(nameof(weight), weight.Kernel, "unknown projection kernel"),
    };

    /// <summary>
    /// Per-group projection y[t, g * N + n] = sum_k x[t, g * K + k] * W[g * N + n, k] for <paramref name="groups"/>
    /// groups (MLA's per-head W_UK^T / W_UV): DenseProjection with its <c>groups</c> attribute, whatever the weight's
    /// storage (float32, bf16, block-FP8 whose blocks start each group, or int8 / int4 in the contract's layout). x is
    /// [T, G * K] or [T, G, K]; y is [T, G * N].
    /// </summary>
    public static string GroupedLinear(GraphBuilder g, string x, LinearWeight weight, int groups, string output)
    {
        if (weight.Kernel == LinearKernel.MatMulNBits)
            throw new ArgumentException($"'{weight.Weight}': a grouped projection reads float32, bf16, block-FP8 or contract-layout int8 / int4 weights", nameof(weight));
        return DenseProjectionNode(g, x, weight, groups, output);
    }

    /// <summary>
    /// One DenseProjection node on <paramref name="weight"/> as stored: <c>groups</c> when above 1, the scale block
    /// (<c>quant_block_size</c>) of a scaled weight (block-FP8, int8, int4) and <c>weight_format</c> "int4".
    /// </summary>
    private static string DenseProjectionNode(GraphBuilder g, string x, LinearWeight weight, int groups, string output)
    {
        var attributes = new List<OnnxAttribute>();
        if (groups > 1) attributes.Add(OnnxAttribute.Int("groups", groups));
        if (weight.Scales is not null) attributes.Add(OnnxAttribute.Int("quant_block_size", weight.BlockSize));
        if (weight.Bits == 4) attributes.Add(OnnxAttribute.String("weight_format", "int4"));
        string[] inputs = weight.Scales is null ? [x, weight.Weight] : [x, weight.Weight, weight.Scales];
        return g.Node(CustomOpNames.DenseProjection, [output], inputs, CustomOpNames.Domain, attributes.ToArray())[0];
    }

    /// <summary>ONNX Runtime's contrib-op domain (fused RotaryEmbedding, SkipSimplifiedLayerNormalization).</summary>
    public const string MicrosoftDomain = "com.microsoft";

    /// <summary>
    /// RMSNorm over the last axis: x * rsqrt(mean(x^2) + eps) * w, as ONNX Runtime's fused
    /// SimplifiedLayerNormalization (registered in the standard domain, since version 1, float32 on CPU and CUDA)
    /// instead of seven elementwise nodes.
    /// </summary>
    public static string RmsNorm(GraphBuilder g, string x, string weight, float eps, string prefix) =>
        g.Op("SimplifiedLayerNormalization", prefix, [x, weight],
            OnnxAttribute.Int("axis", -1), OnnxAttribute.Float("epsilon", eps), OnnxAttribute.Int("stash_type", 1));

    /// <summary>
    /// The residual add followed by RMSNorm in one com.microsoft.SkipSimplifiedLayerNormalization node:
    /// returns (norm(x + skip) * w, x + skip). The sum is the op's fourth output, so the residual stream needs no Add;
    /// with <paramref name="sumName"/> null the sum is not produced (Sum is then "").
    /// </summary>
    public static (string Normed, string Sum) AddRmsNorm(GraphBuilder g, string x, string skip, string weight, float eps,
        string prefix, string? sumName)
    {
        var outs = g.Node("SkipSimplifiedLayerNormalization", sumName is null ? [prefix] : [prefix, "", "", sumName], [x, skip, weight],
            MicrosoftDomain, OnnxAttribute.Float("epsilon", eps));
        return (outs[0], sumName is null ? "" : outs[3]);
    }

    /// <summary>
    /// SiLU(gate) * up, then down: the SwiGLU MLP of dense layers and the shared expert, from its gate and up
    /// projections (computed by the caller, as one projection where their weights stack).
    /// </summary>
    public static string SwiGluDown(GraphBuilder g, string gate, string up, LinearWeight downW, string prefix)
    {
        var sig = g.Op("Sigmoid", prefix + ".gate_sigmoid", [gate]);
        var silu = g.Op("Mul", prefix + ".gate_silu", [gate, sig]);
        var act = g.Op("Mul", prefix + ".act", [silu, up]);
        return Linear(g, act, downW, prefix + ".down");
    }

    /// <summary>
    /// Interleaved (GPT-J) rotary embedding of <paramref name="x"/> [tokens, heads * headSize] (or any shape whose
    /// rows are tokens, given by <paramref name="outShape"/>): per head, pairs (2i, 2i+1) of the first
    /// <paramref name="ropeDim"/> dims rotate by angle pos * inv_freq[i]; the rest of the head passes through.
    /// One com.microsoft.RotaryEmbedding node over [1, tokens, heads * headSize]: the cos / sin caches hold one row per
    /// token of this call (see <see cref="RopeTables"/>), so position_ids is the offset form [0] (token t reads row t).
    /// The output stays interleaved; q and k get the same layout, so dot products equal the reference's.
    /// </summary>
    public static string Rope(GraphBuilder g, string x, int heads, int headSize, int ropeDim, long[] outShape, RopeTables rope,
        string prefix)
    {
        var seq = g.Op("Reshape", prefix + ".seq", [x, g.Int64s(1, -1, (long)heads * headSize)]);
        var rotated = g.Node("RotaryEmbedding", [prefix + ".seq_rot"], [seq, rope.PositionOffset, rope.Cos, rope.Sin],
            MicrosoftDomain, OnnxAttribute.Int("interleaved", 1), OnnxAttribute.Int("num_heads", heads),
            OnnxAttribute.Int("rotary_embedding_dim", ropeDim))[0];
        return g.Op("Reshape", prefix, [rotated, g.Int64s(outShape)]);
    }
}

/// <summary>Per-token cos / sin rows [tokens, rope_dim / 2] shared by every RoPE of a stage, and the position offset 0.</summary>
public sealed record RopeTables(string Cos, string Sin, string PositionOffset);
