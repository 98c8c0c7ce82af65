namespace Glm.Onnx.Converter.Weights;

/// <summary>
/// A projection weight as the graph uses it: <see cref="Weight"/> a float32 [N, K] value for Gemm (transB), or, when
/// <see cref="Bits"/> is 8 or 4, MatMulNBits' packed B with its float32 group <see cref="Scales"/>.
/// </summary>
public sealed record LinearWeight(string Weight, string? Scales = null, int Bits = 0, long K = 0, long N = 0, int BlockSize = 0,
    int AccuracyLevel = 0)
{
    public bool IsQuantized => Bits > 0;
}

/// <summary>
/// The stacked routed-expert weights of one projection for MoeExperts: the weight initializer, its scales (FP8 block
/// scales or int8 / int4 group scales; null for float32 / bf16), the op's <c>weight_format</c> attribute ("int4" or
/// "") and the int group size (0 when not quantised by the converter).
/// </summary>
public sealed record ExpertWeights(string Weights, string? Scales, string WeightFormat, int GroupSize);
