namespace Glm.Onnx.Converter.Weights;

/// <summary>The op a projection runs on: decided by how its weight is stored (docs/artifacts.md, "Precision").</summary>
public enum LinearKernel
{
    /// <summary>ONNX Gemm (transB) on a float32 weight.</summary>
    Gemm,

    /// <summary>com.microsoft.MatMulNBits on an int8 / int4 weight packed in its layout.</summary>
    MatMulNBits,

    /// <summary>
    /// Our DenseProjection on a weight at its stored width (bfloat16, block-FP8 with its float32 block scales, or
    /// int8 / int4 in the contract's layout with float16 group scales, <c>--dense-op dense-projection</c>):
    /// no float32 copy at load and no per-step Cast (docs/onnx-contract.md, "DenseProjection").
    /// </summary>
    DenseProjection,
}

/// <summary>
/// A projection weight as the graph uses it, in the checkpoint's [N, K] layout: <see cref="Weight"/> names the
/// initializer and <see cref="Scales"/> its scales (FP8 block scales, MatMulNBits group scales; null otherwise).
/// <see cref="BlockSize"/> is the scale block (FP8: rows and columns per scale; int: columns per group).
/// </summary>
public sealed record LinearWeight
{
    private LinearWeight(string weight, LinearKernel kernel, string? scales, int bits, long k, long n, int blockSize, int accuracyLevel)
    {
        Weight = weight;
        Kernel = kernel;
        Scales = scales;
        Bits = bits;
        K = k;
        N = n;
        BlockSize = blockSize;
        AccuracyLevel = accuracyLevel;
    }

    public string Weight { get; }
    public LinearKernel Kernel { get; }
    public string? Scales { get; }

    /// <summary>8 or 4 for MatMulNBits and int DenseProjection; 0 otherwise.</summary>
    public int Bits { get; }

    /// <summary>Input columns (MatMulNBits' K attribute; 0 where the op reads it from the shapes).</summary>
    public long K { get; }

    /// <summary>Output rows (MatMulNBits' N attribute; 0 where the op reads it from the shapes).</summary>
    public long N { get; }

    public int BlockSize { get; }

    /// <summary>MatMulNBits accuracy_level.</summary>
    public int AccuracyLevel { get; }

    /// <summary>A float32 [N, K] value, for Gemm.</summary>
    public static LinearWeight Float32(string weight) => new(weight, LinearKernel.Gemm, null, 0, 0, 0, 0, 0);

    /// <summary>
    /// A float32 [N, K] initializer read by DenseProjection instead of Gemm: the head at fp32, which computes one row
    /// per sequence per step, where DenseProjection's float32 decode kernel streams the weights faster than Gemm
    /// (docs/benchmarks.md, "Small-model decode").
    /// </summary>
    public static LinearWeight Float32Dense(string weight) => new(weight, LinearKernel.DenseProjection, null, 0, 0, 0, 0, 0);

    /// <summary>A bfloat16 [N, K] initializer, read by DenseProjection.</summary>
    public static LinearWeight BFloat16(string weight) => new(weight, LinearKernel.DenseProjection, null, 0, 0, 0, 0, 0);

    /// <summary>A float8e4m3fn [N, K] initializer with float32 scales per <paramref name="blockSize"/>-square block, read by DenseProjection.</summary>
    public static LinearWeight BlockFp8(string weight, string scales, int blockSize) =>
        new(weight, LinearKernel.DenseProjection, scales, 0, 0, 0, blockSize, 0);

    /// <summary>
    /// An int8 [N, K] (int8) or int4 [N, ceil(K / 2)] (uint8 nibble pairs) initializer in the contract's layout with
    /// float16 scales [N, groups], read by DenseProjection (<c>weight_format</c> "int4" when <paramref name="bits"/> is 4).
    /// </summary>
    public static LinearWeight IntDense(string weight, string scales, int bits, int groupSize) =>
        new(weight, LinearKernel.DenseProjection, scales, bits, 0, 0, groupSize, 0);

    /// <summary>MatMulNBits' packed B with its float32 group scales.</summary>
    public static LinearWeight NBits(string weight, string scales, int bits, long k, long n, int blockSize, int accuracyLevel) =>
        new(weight, LinearKernel.MatMulNBits, scales, bits, k, n, blockSize, accuracyLevel);
}

/// <summary>
/// The stacked routed-expert weights of one projection for MoeExperts: the weight initializer, its scales (FP8 block
/// scales or int8 / int4 group scales; null for float32 / bf16), the op's <c>weight_format</c> attribute ("int4" or
/// "") and the int group size (0 when not quantised by the converter).
/// </summary>
public sealed record ExpertWeights(string Weights, string? Scales, string WeightFormat, int GroupSize);
