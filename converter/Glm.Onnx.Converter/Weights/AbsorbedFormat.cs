using Glm.Onnx.Checkpoint;
using Glm.Onnx.Converter.Onnx;

namespace Glm.Onnx.Converter.Weights;

/// <summary>
/// How the absorbed MLA matrices W_UK^T / W_UV (cut per head from kv_b_proj) are stored, read by a grouped
/// DenseProjection: <see cref="Type"/> float32, bfloat16, int8 (<see cref="Bits"/> 8, the contract's layout with float16
/// group scales) or float8e4m3fn (square <see cref="Fp8Block"/>-side blocks with float32 scales). The weight writer and
/// the manifest both ask <see cref="For"/>, so the manifest records what the graph runs.
/// </summary>
public readonly record struct AbsorbedFormat(OnnxDataType Type, int Bits, int Fp8Block)
{
    /// <summary>
    /// Under an attention part of <paramref name="precision"/>: float32 at fp32; a block-FP8 source's e4m3 values kept
    /// exactly at every other target, in blocks of <see cref="Fp8BlockFor"/> (each inside one source block, so every
    /// block keeps its source scale: the dequantised values are the checkpoint's, at one byte per weight), when such a
    /// block exists; otherwise bf16 at bf16 / fp8 / int8 and int8 at int4, one step wider than an integer part. They act
    /// on every query and every attended latent, so their rounding shows more than a projection's: on the fixtures and
    /// `small`, quantising them at the part's own integer width raised the mean KL against fp32 by up to 44 % (int8)
    /// and 19 % (int4), one step wider left it unchanged within noise; rounding the FP8 fixture's dequantised values to
    /// bf16 moved its logits by up to 1.37 (argmax 91 %) where the re-blocked FP8 stays exact (docs/benchmarks.md,
    /// "W_UK / W_UV at the stored width", "FP8-sourced W_UK / W_UV").
    /// </summary>
    public static AbsorbedFormat For(TargetPrecision precision, QuantizationConfig? fp8Source, int nope, int v, long rank)
    {
        if (precision == TargetPrecision.Fp32) return new(OnnxDataType.Float, 0, 0);
        if (fp8Source is not null && Fp8BlockFor(fp8Source.BlockRows, fp8Source.BlockCols, nope, v, rank) is var block and > 0)
            return new(OnnxDataType.Float8E4M3FN, 0, block);
        return precision.IntBits() == 4 ? new(OnnxDataType.Int8, 8, 0) : new(OnnxDataType.BFloat16, 0, 0);
    }

    /// <summary>
    /// The side of the square FP8 blocks W_UK^T / W_UV can be re-blocked into without touching a value: the largest
    /// multiple of 8 (DenseProjection's rule) dividing the source block sides, qk_nope, v_head_dim and kv_lora_rank, so
    /// that each head's rows start on a block and every block lies inside one source block. 0 when there is none.
    /// GLM-5.2 (128 x 128 source blocks, 192 / 256 / 512): 64.
    /// </summary>
    public static int Fp8BlockFor(int blockRows, int blockCols, int nope, int v, long rank)
    {
        long g = Gcd(Gcd(Gcd(Gcd(blockRows, blockCols), nope), v), rank);
        // A multiple of 8 divides g only when 8 does, and g is then the largest.
        return g > 0 && g % 8 == 0 ? (int)g : 0;
    }

    /// <summary>The manifest's name of the format: float32, bfloat16, int8 or float8e4m3fn.</summary>
    public string ManifestName => Type switch
    {
        OnnxDataType.Float => "float32",
        OnnxDataType.BFloat16 => "bfloat16",
        OnnxDataType.Float8E4M3FN => "float8e4m3fn",
        _ => Bits == 8 ? "int8" : "int4",
    };

    private static long Gcd(long a, long b) => b == 0 ? Math.Abs(a) : Gcd(b, a % b);
}
