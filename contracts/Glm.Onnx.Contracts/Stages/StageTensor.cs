namespace Glm.Onnx.Contracts.Stages;

/// <summary>Element types of stage inputs and outputs; the values are ONNX's TensorProto.DataType codes.</summary>
public enum StageElementType
{
    Float32 = 1,
    Int32 = 6,
    Int64 = 7,
}

/// <summary>
/// Where the runtime keeps a tensor. <see cref="Host"/>: host memory, even for a stage on a GPU (the batch description,
/// whose contents the custom ops read on the host, and the logits the sampler reads). <see cref="Device"/>: the memory
/// of the device that consumes it (a pool or an input: the stage's own device; an output: the next stage's device).
/// </summary>
public enum StageMemory
{
    Host,
    Device,
}

/// <summary>What a stage tensor carries, so that a binder can switch on the role instead of on the name.</summary>
public enum StageTensorKind
{
    InputIds,
    HiddenStates,
    Positions,
    CumulativeSequenceLengths,
    PastSequenceLengths,
    BlockTable,
    LogitsIndices,
    PrevTopkIndices,
    LatentPool,
    IndexPool,
    Logits,
    HiddenStatesOut,
    TopkIndicesOut,
    FinalHidden,
}

/// <summary>One dimension of a contract shape: a symbolic size (set per step or per cache) or a fixed model size.</summary>
public readonly record struct StageDim(string? Symbol, long Value, string? Field = null)
{
    public bool IsSymbolic => Symbol is not null;

    public static StageDim Of(string symbol) => new(symbol, 0);

    public static StageDim Of(long value) => new(null, value);

    /// <summary>A fixed size taken from the manifest field <paramref name="field"/> (named when a graph disagrees).</summary>
    public static StageDim Of(long value, string field) => new(null, value, field);

    public override string ToString() => Symbol ?? Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// One graph input or output of a stage: its name, element type, shape, whether a graph may leave it out, and where
/// its memory lives. <see cref="Layer"/> names the decoder layer of a pool (-1 for every other tensor).
/// </summary>
public sealed record StageTensor(
    string Name,
    StageTensorKind Kind,
    StageElementType ElementType,
    IReadOnlyList<StageDim> Shape,
    bool Optional,
    StageMemory Memory,
    int Layer = -1)
{
    public bool IsPool => Kind is StageTensorKind.LatentPool or StageTensorKind.IndexPool;

    public string ShapeText => $"[{string.Join(", ", Shape)}]";

    public override string ToString() => $"{Name} {ElementType.OnnxName()} {ShapeText}";
}

public static class StageElementTypeExtensions
{
    /// <summary>The name ONNX uses in type strings, e.g. tensor(float).</summary>
    public static string OnnxName(this StageElementType type) => type switch
    {
        StageElementType.Float32 => "float",
        StageElementType.Int32 => "int32",
        StageElementType.Int64 => "int64",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a stage element type"),
    };
}
