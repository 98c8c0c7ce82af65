using Glm.Onnx.Converter.Graph;
using Glm.Onnx.Converter.Onnx;
using Glm.Onnx.Converter.Weights;
using Microsoft.ML.OnnxRuntime;

namespace Glm.Onnx.Tests.Quantization;

/// <summary>
/// The converter's int8 / int4 projection path end to end (GroupQuantizer, MatMulNBits packing, GraphOps.Linear) in
/// ONNX Runtime, on weights that are exactly q x scale with a power-of-two scale and a full-range q in every group:
/// quantisation must then reproduce them exactly, so the op's output must equal x . W^T computed here in double.
/// K = 48 leaves a half group at group 32 (padding).
/// </summary>
public sealed class MatMulNBitsLinearTests
{
    [Theory]
    [InlineData(8, 32)]
    [InlineData(4, 32)]
    [InlineData(8, 128)]
    [InlineData(4, 128)]
    public void LinearOnQuantizedWeightsEqualsTheExactProduct(int bits, int group)
    {
        const int T = 3, K = 48, N = 5;
        var rng = new Random(bits * 1000 + group);
        int qmax = bits == 8 ? 127 : 7, groups = (K + group - 1) / group;
        var w = new float[N * K];
        for (int n = 0; n < N; n++)
            for (int g = 0; g < groups; g++)
            {
                float scale = MathF.ScaleB(1f, -rng.Next(0, 4));
                int start = g * group, count = Math.Min(group, K - start);
                for (int i = 0; i < count; i++) w[n * K + start + i] = rng.Next(-qmax, qmax + 1) * scale;
                w[n * K + start + rng.Next(count)] = (rng.Next(2) == 0 ? -qmax : qmax) * scale;
            }
        var x = Enumerable.Range(0, T * K).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();

        long rowBytes = QuantizedPacking.RowBytes(QuantizedLayout.MatMulNBits, bits, K, group);
        var packed = new byte[N * rowBytes];
        var scaleBytes = new byte[N * groups * 4];
        var q = new sbyte[K];
        var s = new Half[groups];
        for (int n = 0; n < N; n++)
        {
            GroupQuantizer.QuantizeRow(w.AsSpan(n * K, K), bits, group, q, s, "test");
            QuantizedPacking.PackRow(QuantizedLayout.MatMulNBits, bits, group, q, packed.AsSpan((int)(n * rowBytes), (int)rowBytes));
            QuantizedPacking.PackScales(QuantizedLayout.MatMulNBits, s, scaleBytes.AsSpan(n * groups * 4, groups * 4));
        }

        var graph = new GraphBuilder("linear");
        graph.Input("x", OnnxDataType.Float, "t", K);
        graph.Initializer(OnnxTensor.Inline("w", OnnxDataType.UInt8, [N, groups, rowBytes / groups], packed));
        graph.Initializer(OnnxTensor.Inline("w.scales", OnnxDataType.Float, [N, groups], scaleBytes));
        GraphOps.Linear(graph, "x", LinearWeight.NBits("w", "w.scales", bits, K, N, group, accuracyLevel: 0), "y");
        graph.Output("y", OnnxDataType.Float, "t", N);
        var model = new OnnxModel(graph.Build(), [new OnnxOpset("", 19), new OnnxOpset(GraphOps.MicrosoftDomain, 1)], "test", "1");
        using var options = new SessionOptions();
        using var session = new InferenceSession(model.ToBytes(), options);
        using var input = OrtValue.CreateTensorValueFromMemory(x, [T, K]);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, ["x"], [input], ["y"]);
        var y = results[0].GetTensorDataAsSpan<float>().ToArray();

        for (int t = 0; t < T; t++)
            for (int n = 0; n < N; n++)
            {
                double expected = 0;
                for (int k = 0; k < K; k++) expected += (double)x[t * K + k] * w[n * K + k];
                Assert.True(Math.Abs(y[t * N + n] - expected) <= 1e-4 * (1 + Math.Abs(expected)),
                    $"bits {bits} group {group}: y[{t},{n}] = {y[t * N + n]}, expected {expected}");
            }
    }
}
