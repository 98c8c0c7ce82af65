using Glm.Onnx.Checkpoint;

namespace Glm.Onnx.Converter;

/// <summary>The parts of the model whose weight precision can be chosen separately (<c>--attention</c> etc.).</summary>
public enum WeightPart
{
    /// <summary>MLA projections (q_a, q_b, kv_a, o) and the DSA indexer's (wq_b, wk, weights_proj).</summary>
    Attention,
    /// <summary>Dense SwiGLU MLPs, the shared experts and the MTP eh_proj.</summary>
    Dense,
    /// <summary>The routed experts (MoeExperts).</summary>
    Experts,
    /// <summary>The output projection (untied lm_head).</summary>
    LmHead,
}

/// <summary>
/// The op that reads int8 / int4 dense projections (attention, dense MLPs, shared experts, lm_head): ONNX Runtime's
/// com.microsoft.MatMulNBits (MLAS kernels) or our DenseProjection (contract layout, docs/onnx-contract.md). Chosen
/// by <c>--dense-op</c> and recorded per part in the manifest; docs/benchmarks.md has the measurements behind the
/// default.
/// </summary>
public enum DenseIntOp
{
    MatMulNBits,
    DenseProjection,
}

/// <summary>
/// Decides the storage precision of every weight: the <c>--precision</c> target, overridden per
/// <see cref="WeightPart"/>. The embedding table follows the target (a float32 or bf16 lookup: it is never
/// quantised), the router, norms and biases are always float32, and the absorbed MLA matrices W_UK / W_UV follow the attention
/// part (float32 for a block-FP8 source at bf16 / fp8; docs/artifacts.md, "Precision").
/// </summary>
public sealed class PrecisionPolicy
{
    /// <summary>Group sizes the kernels accept (MoeExperts and MatMulNBits both take 32 and 128).</summary>
    public static readonly int[] GroupSizes = [32, 128];

    private readonly Dictionary<WeightPart, TargetPrecision> _parts = new();

    public PrecisionPolicy(TargetPrecision target, IReadOnlyDictionary<WeightPart, TargetPrecision>? overrides = null,
        int groupSize = 32, int accuracyLevel = 4, DenseIntOp denseIntOp = DenseIntOp.DenseProjection)
    {
        if (!GroupSizes.Contains(groupSize))
            throw new ArgumentException($"--group-size {groupSize} is not supported: expected {string.Join(" or ", GroupSizes)}");
        if (accuracyLevel is < 0 or > 4)
            throw new ArgumentException($"--accuracy-level {accuracyLevel} is not supported: expected 0 to 4 (MatMulNBits accuracy_level)");
        Target = target;
        GroupSize = groupSize;
        AccuracyLevel = accuracyLevel;
        DenseIntOp = denseIntOp;
        foreach (var part in Enum.GetValues<WeightPart>())
            _parts[part] = overrides is not null && overrides.TryGetValue(part, out var p) ? p : target;
    }

    public TargetPrecision Target { get; }

    /// <summary>Input columns per int8 / int4 scale group.</summary>
    public int GroupSize { get; }

    /// <summary>MatMulNBits accuracy_level of int8 / int4 dense projections (4: int8 activations, the fast CPU path).</summary>
    public int AccuracyLevel { get; }

    /// <summary>The op of int8 / int4 dense projections (<c>--dense-op</c>).</summary>
    public DenseIntOp DenseIntOp { get; }

    public TargetPrecision Of(WeightPart part) => _parts[part];

    /// <summary>Every part with its precision, in declaration order.</summary>
    public IEnumerable<(WeightPart Part, TargetPrecision Precision)> Parts =>
        Enum.GetValues<WeightPart>().Select(p => (p, _parts[p]));

    /// <summary>The part a weight belongs to, or null for tensors no override applies to (embedding, router, norms).</summary>
    public static WeightPart? PartOf(ModelTensor tensor) => tensor.Group switch
    {
        TensorGroup.Attention or TensorGroup.Indexer => WeightPart.Attention,
        TensorGroup.DenseMlp or TensorGroup.SharedExpert or TensorGroup.MtpProjection => WeightPart.Dense,
        TensorGroup.RoutedExpert => WeightPart.Experts,
        TensorGroup.LmHead => WeightPart.LmHead,
        _ => null,
    };

    /// <summary>The precision of a linear weight: its part's, or the target for a tensor of no part.</summary>
    public TargetPrecision For(ModelTensor tensor) => PartOf(tensor) is { } part ? _parts[part] : Target;

    /// <summary>True when any part is quantised to int8 / int4.</summary>
    public bool AnyInteger => _parts.Values.Any(p => p.IntBits() > 0);

    /// <summary>Stable text of the whole policy (conversion fingerprint, messages).</summary>
    public override string ToString() =>
        $"{Target.Name()} " + string.Join(" ", Parts.Select(p => $"{p.Part}={p.Precision.Name()}")) + $" g{GroupSize} a{AccuracyLevel}" +
        (DenseIntOp == DenseIntOp.DenseProjection ? "" : " dense-op=" + DenseIntOpName(DenseIntOp));

    /// <summary>Parses a part name as the CLI spells it (attention, dense, experts, lm-head).</summary>
    public static WeightPart ParsePart(string text) => text.ToLowerInvariant() switch
    {
        "attention" => WeightPart.Attention,
        "dense" => WeightPart.Dense,
        "experts" => WeightPart.Experts,
        "lm-head" or "lm_head" => WeightPart.LmHead,
        _ => throw new ArgumentException($"weight part '{text}' is not known: expected attention, dense, experts or lm-head"),
    };

    /// <summary>Parses <c>--dense-op</c> (matmulnbits, dense-projection).</summary>
    public static DenseIntOp ParseDenseIntOp(string text) => text.ToLowerInvariant() switch
    {
        "matmulnbits" => DenseIntOp.MatMulNBits,
        "dense-projection" or "denseprojection" => DenseIntOp.DenseProjection,
        _ => throw new ArgumentException($"--dense-op '{text}' is not known: expected matmulnbits or dense-projection"),
    };

    public static string DenseIntOpName(DenseIntOp op) => op switch
    {
        DenseIntOp.MatMulNBits => "matmulnbits",
        DenseIntOp.DenseProjection => "dense-projection",
        _ => throw new ArgumentOutOfRangeException(nameof(op)),
    };

    public static string PartName(WeightPart part) => part switch
    {
        WeightPart.Attention => "attention",
        WeightPart.Dense => "dense",
        WeightPart.Experts => "experts",
        WeightPart.LmHead => "lm-head",
        _ => throw new ArgumentOutOfRangeException(nameof(part)),
    };
}
