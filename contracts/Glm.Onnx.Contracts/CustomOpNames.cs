namespace Glm.Onnx.Contracts;

/// <summary>
/// The custom-op domain the converter writes into graphs and the runtime requires from the native library.
/// Source of truth: custom-ops/include/glm_ops/op_names.h; a test compares these with what the built library reports.
/// </summary>
public static class CustomOpNames
{
    public const string Domain = "com.glm.onnx";
    public const int DomainVersion = 1;

    public const string LightningIndexer = "LightningIndexer";
    public const string SparseMlaAttention = "SparseMlaAttention";
    public const string MoeRouting = "MoeRouting";
    public const string MoeExperts = "MoeExperts";
    public const string DenseProjection = "DenseProjection";

    public static IReadOnlyList<string> All { get; } = [LightningIndexer, SparseMlaAttention, MoeRouting, MoeExperts, DenseProjection];
}
