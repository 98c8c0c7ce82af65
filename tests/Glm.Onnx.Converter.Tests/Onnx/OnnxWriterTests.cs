using Glm.Onnx.Converter.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Glm.Onnx.Tests.Onnx;

/// <summary>Hand-built graphs written by our protobuf writer must load in ONNX Runtime and compute the right values.</summary>
public sealed class OnnxWriterTests
{
    private static OnnxModel Model(GraphBuilder g) =>
        new(g.Build(), [new OnnxOpset("", 19)], "glm-onnx-tests", "1");

    [Fact]
    public void GemmWithInlineWeightsAndAttributesMatchesAPlainLoop()
    {
        // y = alpha * x @ W^T + b, W stored [out, in] as a checkpoint stores it.
        float[] w = [1, 2, 3, -1, 0.5f, 4]; // [2, 3]
        float[] b = [0.25f, -2];
        var g = new GraphBuilder("gemm");
        var x = g.Input("x", OnnxDataType.Float, "n", 3);
        var wName = g.Initializer(OnnxTensor.Float("w", [2, 3], w));
        var bName = g.Initializer(OnnxTensor.Float("b", [2], b));
        var y = g.Op("Gemm", "y", [x, wName, bName], OnnxAttribute.Int("transB", 1), OnnxAttribute.Float("alpha", 0.5f));
        g.Output(y, OnnxDataType.Float, "n", 2);

        float[] input = [1, 1, 1, 2, -3, 0.5f];
        var result = Run(Model(g).ToBytes(), ("x", new DenseTensor<float>(input, [2, 3])));

        for (int r = 0; r < 2; r++)
            for (int o = 0; o < 2; o++)
            {
                float expected = b[o];
                for (int i = 0; i < 3; i++) expected += 0.5f * input[r * 3 + i] * w[o * 3 + i];
                Assert.Equal(expected, result[r * 2 + o], 5);
            }
    }

    [Fact]
    public void ExternalDataInitializersAreReadFromTheDataFile()
    {
        using var dir = Fixtures.NewTempDir();
        // Two tensors in one data file at aligned offsets, plus junk before them, to prove offsets are honoured.
        float[] a = [1, 2, 3, 4];
        float[] c = [10, 20, 30, 40];
        using (var data = File.Create(dir.File("weights.data")))
        {
            data.Write(new byte[64]);
            data.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan()));
            data.Write(new byte[48]);
            data.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(c.AsSpan()));
        }
        var g = new GraphBuilder("ext");
        var x = g.Input("x", OnnxDataType.Float, 4);
        var aName = g.Initializer(OnnxTensor.ExternalData("a", OnnxDataType.Float, [4], new("weights.data", 64, 16)));
        var cName = g.Initializer(OnnxTensor.ExternalData("c", OnnxDataType.Float, [4], new("weights.data", 128, 16)));
        var ax = g.Op("Mul", "ax", [x, aName]);
        var y = g.Op("Add", "y", [ax, cName]);
        g.Output(y, OnnxDataType.Float, 4);
        File.WriteAllBytes(dir.File("model.onnx"), Model(g).ToBytes());

        using var session = new InferenceSession(dir.File("model.onnx"));
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(new float[] { 1, -1, 0.5f, 2 }, [4]))]);
        Assert.Equal([11f, 18f, 31.5f, 48f], results[0].AsEnumerable<float>().ToArray());
    }

    [Fact]
    public void Int64ConstantsAndMultiOutputNodesWork()
    {
        var g = new GraphBuilder("split");
        var x = g.Input("x", OnnxDataType.Float, 2, 6);
        var parts = g.Node("Split", ["x.a", "x.b"], [x, g.Int64s(4, 2)], "", OnnxAttribute.Int("axis", 1));
        var reshaped = g.Op("Reshape", "x.a.r", [parts[0], g.Int64s(4, 2)]);
        g.Output(reshaped, OnnxDataType.Float, 4, 2);
        g.Output(parts[1], OnnxDataType.Float, 2, 2);

        float[] input = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
        using var session = new InferenceSession(Model(g).ToBytes());
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(input, [2, 6]))]);
        Assert.Equal([0f, 1, 2, 3, 6, 7, 8, 9], results.First(r => r.Name == "x.a.r").AsEnumerable<float>().ToArray());
        Assert.Equal([4f, 5, 10, 11], results.First(r => r.Name == "x.b").AsEnumerable<float>().ToArray());
    }

    [Fact]
    public void Bf16InitializerCastToFloatIsExact()
    {
        // bf16 bits of 1.5, -2.0, 3.140625 (exactly representable).
        ushort[] bits = [0x3FC0, 0xC000, 0x4049];
        var raw = System.Runtime.InteropServices.MemoryMarshal.AsBytes(bits.AsSpan()).ToArray();
        var g = new GraphBuilder("bf16");
        var x = g.Input("x", OnnxDataType.Float, 3);
        var w = g.Initializer(OnnxTensor.Inline("w", OnnxDataType.BFloat16, [3], raw));
        var wf = g.Op("Cast", "w.f32", [w], OnnxAttribute.Int("to", (long)OnnxDataType.Float));
        var y = g.Op("Mul", "y", [x, wf]);
        g.Output(y, OnnxDataType.Float, 3);
        var result = Run(Model(g).ToBytes(), ("x", new DenseTensor<float>(new float[] { 1, 1, 2 }, [3])));
        Assert.Equal([1.5f, -2f, 6.28125f], result);
    }

    [Fact]
    public void BuilderRejectsUndefinedInputsAndDuplicateNames()
    {
        var g = new GraphBuilder("bad");
        g.Input("x", OnnxDataType.Float, 1);
        var e = Assert.Throws<InvalidOperationException>(() => g.Op("Add", "y", ["x", "missing"]));
        Assert.Contains("'missing'", e.Message);
        var d = Assert.Throws<InvalidOperationException>(() => g.Op("Neg", "x", ["x"]));
        Assert.Contains("'x' is defined twice", d.Message);
    }

    private static float[] Run(byte[] model, params (string Name, DenseTensor<float> Value)[] inputs)
    {
        using var session = new InferenceSession(model);
        using var results = session.Run(inputs.Select(i => NamedOnnxValue.CreateFromTensor(i.Name, i.Value)).ToArray());
        return results[0].AsEnumerable<float>().ToArray();
    }
}
