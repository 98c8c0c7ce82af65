using Glm.Onnx.Converter.Graph;

namespace Glm.Onnx.Converter.Conversion;

/// <summary>What a conversion will produce, computed without writing anything (<c>--plan</c>).</summary>
public sealed record ConversionPlan(
    string CheckpointDir,
    TargetPrecision Precision,
    IReadOnlyList<StageOutput> Stages,
    long SourceBytes,
    long LargestSourceTensorBytes,
    long PeakMemoryEstimateBytes)
{
    /// <summary>The per-part precisions of the conversion (set by <see cref="ModelConverter"/>).</summary>
    public PrecisionPolicy Policy { get; init; } = new(Precision);

    public long OutputBytes => Stages.Sum(s => s.Files.Sum(f => f.Bytes));

    public int Tensors => Stages.Sum(s => s.Tensors);

    public IReadOnlyList<StageSpec> Specs => Stages.Select(s => s.Stage).ToArray();
}
