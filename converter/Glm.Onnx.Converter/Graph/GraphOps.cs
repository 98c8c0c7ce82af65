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
        LinearKernel.DenseProjection => DenseProjectionNode(g, x, weight, groups: 1, output, swiglu: false, addend: null),
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
        return DenseProjectionNode(g, x, weight, groups, output, swiglu: false, addend: null);
    }

    /// <summary>
    /// SiLU(gate) * up of <paramref name="gateUp"/> [T, 2 * inter] (gate columns first, as one stacked gate / up
    /// projection writes them) projected by <paramref name="downW"/>, plus <paramref name="addend"/> [T, out] when
    /// given: one DenseProjection node (<c>input_activation</c> "swiglu", the <c>addend</c> input) where Split,
    /// Sigmoid, two Mul and an Add would be five. <paramref name="downW"/> must be read by DenseProjection.
    /// </summary>
    public static string SwiGluDenseProjection(GraphBuilder g, string gateUp, LinearWeight downW, string? addend, string output)
    {
        if (downW.Kernel != LinearKernel.DenseProjection)
            throw new ArgumentException($"'{downW.Weight}': the fused SwiGLU down projection is a DenseProjection, not {downW.Kernel}", nameof(downW));
        return DenseProjectionNode(g, gateUp, downW, groups: 1, output, swiglu: true, addend);
    }

    /// <summary>
    /// One DenseProjection node on <paramref name="weight"/> as stored: <c>groups</c> when above 1, the scale block
    /// (<c>quant_block_size</c>) of a scaled weight (block-FP8, int8, int4) and <c>weight_format</c> "int4".
    /// </summary>
    private static string DenseProjectionNode(GraphBuilder g, string x, LinearWeight weight, int groups, string output,
        bool swiglu, string? addend)
    {
        var attributes = new List<OnnxAttribute>();
        if (groups > 1) attributes.Add(OnnxAttribute.Int("groups", groups));
        if (weight.Scales is not null) attributes.Add(OnnxAttribute.Int("quant_block_size", weight.BlockSize));
        if (weight.Bits == 4) attributes.Add(OnnxAttribute.String("weight_format", "int4"));
        if (swiglu) attributes.Add(OnnxAttribute.String("input_activation", "swiglu"));
        var inputs = new List<string> { x, weight.Weight };
        if (weight.Scales is not null || addend is not null) inputs.Add(weight.Scales ?? "");  // "": an absent optional input
        if (addend is not null) inputs.Add(addend);
        return g.Node(CustomOpNames.DenseProjection, [output], inputs.ToArray(), CustomOpNames.Domain, attributes.ToArray())[0];
    }

    /// <summary>ONNX Runtime's contrib-op domain (SkipSimplifiedLayerNormalization, MatMulNBits).</summary>
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
}

/// <summary>
/// Per-token cos / sin rows [tokens, rope_dim / 2] shared by every rotation of a stage: the rope tables that
/// LightningIndexer and SparseMlaAttention take to rotate their unrotated query and key parts themselves
/// (docs/onnx-contract.md, "Rope tables").
/// </summary>
public sealed record RopeTables(string Cos, string Sin);
