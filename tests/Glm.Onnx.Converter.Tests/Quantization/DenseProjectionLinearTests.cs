using Glm.Onnx.Contracts;
using Glm.Onnx.Converter.Graph;
using Glm.Onnx.Converter.Onnx;
using Glm.Onnx.Converter.Weights;
using Glm.Onnx.CustomOps;
using Microsoft.ML.OnnxRuntime;

namespace Glm.Onnx.Tests.Quantization;

/// <summary>
/// The converter's bf16 / block-FP8 projection wiring (GraphOps.Linear emitting DenseProjection with the weight, its
/// scales and quant_block_size) in ONNX Runtime with the custom-op library: the output must equal x . W^T computed
/// here in double from the weights decoded by this test's own bf16 / e4m3fn decoders. K = 200 and N = 130 leave
/// cropped edge blocks at G = 128 and 32; 70 tokens take the op's blocked GEMM, 3 its row projection.
/// </summary>
public sealed class DenseProjectionLinearTests
{
    private const int K = 200, N = 130;

    [Theory]
    [InlineData(3)]
    [InlineData(70)]
    public void Bf16LinearEqualsTheExactProduct(int tokens)
    {
        var rng = new Random(tokens);
        var bits = new ushort[N * K];
        var w = new double[N * K];
        for (int i = 0; i < bits.Length; i++)
        {
            bits[i] = (ushort)(BitConverter.SingleToUInt32Bits((float)(rng.NextDouble() * 2 - 1)) >> 16);
            w[i] = BitConverter.UInt32BitsToSingle((uint)bits[i] << 16);
        }
        var g = new GraphBuilder("bf16");
        g.Input("x", OnnxDataType.Float, "t", K);
        g.Initializer(OnnxTensor.Inline("w", OnnxDataType.BFloat16, [N, K], System.Runtime.InteropServices.MemoryMarshal.AsBytes(bits.AsSpan()).ToArray()));
        GraphOps.Linear(g, "x", LinearWeight.BFloat16("w"), "y");
        CheckAgainst(g, w, tokens, rng, "bf16");
    }

    [Theory]
    [InlineData(3, 128)]
    [InlineData(70, 128)]
    [InlineData(3, 32)]
    public void BlockFp8LinearEqualsTheExactProduct(int tokens, int block)
    {
        var rng = new Random(tokens * 1000 + block);
        int rowBlocks = (N + block - 1) / block, colBlocks = (K + block - 1) / block;
        var scales = Enumerable.Range(0, rowBlocks * colBlocks).Select(_ => (float)(0.25 + rng.NextDouble()) * MathF.ScaleB(1f, rng.Next(-3, 3))).ToArray();
        var codes = new byte[N * K];
        var w = new double[N * K];
        for (int n = 0; n < N; n++)
            for (int k = 0; k < K; k++)
            {
                byte code;
                do code = (byte)rng.Next(256); while ((code & 0x7F) == 0x7F); // S.1111.111 is NaN in e4m3fn
                codes[n * K + k] = code;
                w[n * K + k] = E4M3(code) * scales[(n / block) * colBlocks + k / block];
            }
        var g = new GraphBuilder("fp8");
        g.Input("x", OnnxDataType.Float, "t", K);
        g.Initializer(OnnxTensor.Inline("w", OnnxDataType.Float8E4M3FN, [N, K], codes));
        g.Initializer(OnnxTensor.Float("w.scales", [rowBlocks, colBlocks], scales));
        GraphOps.Linear(g, "x", LinearWeight.BlockFp8("w", "w.scales", block), "y");
        CheckAgainst(g, w, tokens, rng, $"fp8 G={block}");
    }

    /// <summary>float8e4m3fn: 1 sign, 4 exponent (bias 7), 3 mantissa bits; exponent 0 is subnormal (m / 8 x 2^-6).</summary>
    private static double E4M3(byte code)
    {
        int sign = code >> 7, exp = (code >> 3) & 0xF, mant = code & 7;
        double magnitude = exp == 0 ? mant / 8.0 * Math.Pow(2, -6) : (1 + mant / 8.0) * Math.Pow(2, exp - 7);
        return sign == 1 ? -magnitude : magnitude;
    }

    private static void CheckAgainst(GraphBuilder g, double[] w, int tokens, Random rng, string what)
    {
        g.Output("y", OnnxDataType.Float, "t", N);
        var model = new OnnxModel(g.Build(), [new OnnxOpset("", 19), new OnnxOpset(CustomOpNames.Domain, CustomOpNames.DomainVersion)], "test", "1");
        var x = Enumerable.Range(0, tokens * K).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        using var options = new SessionOptions();
        GlmCustomOps.Register(options);
        using var session = new InferenceSession(model.ToBytes(), options);
        using var input = OrtValue.CreateTensorValueFromMemory(x, [tokens, K]);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, ["x"], [input], ["y"]);
        var y = results[0].GetTensorDataAsSpan<float>().ToArray();
        Assert.Equal(tokens * N, y.Length);
        for (int t = 0; t < tokens; t++)
            for (int n = 0; n < N; n++)
            {
                double expected = 0, magnitude = 0;
                for (int k = 0; k < K; k++)
                {
                    expected += x[t * K + k] * w[n * K + k];
                    magnitude += Math.Abs(x[t * K + k] * w[n * K + k]);
                }
                // float32 summation of K products: a few ulps of the sum of magnitudes.
                Assert.True(Math.Abs(y[t * N + n] - expected) <= 1e-6 * (1 + magnitude),
                    $"{what}, {tokens} tokens: y[{t},{n}] = {y[t * N + n]}, expected {expected}");
            }
    }
}
