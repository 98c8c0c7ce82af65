using Glm.Onnx.Contracts;
using Glm.Onnx.Converter.Onnx;
using Glm.Onnx.CustomOps;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Glm.Onnx.Tests.CustomOps;

/// <summary>Builds a one-node graph of a custom op with our ONNX writer and runs it in an ORT session with the library.</summary>
internal static class SingleNodeGraph
{
    public static OrtValue[] Run(string op, (string Name, OnnxDataType Type, OrtValue Value)[] inputs, (string Name, OnnxDataType Type)[] outputs,
        params OnnxAttribute[] attributes) => Run(op, CustomOpNames.Domain, inputs, outputs, attributes);

    /// <summary>The same for an op of another domain (e.g. ONNX Runtime's com.microsoft ops, as an independent reference).</summary>
    public static OrtValue[] Run(string op, string domain, (string Name, OnnxDataType Type, OrtValue Value)[] inputs,
        (string Name, OnnxDataType Type)[] outputs, params OnnxAttribute[] attributes)
    {
        var g = new GraphBuilder(op);
        foreach (var (name, type, value) in inputs)
            g.Input(name, type, value.GetTensorTypeAndShape().Shape.Select(d => (OnnxDim)d).ToArray());
        g.Node(op, outputs.Select(o => o.Name).ToArray(), inputs.Select(i => i.Name).ToArray(), domain, attributes);
        foreach (var (name, type) in outputs) g.Output(name, type, "d0", "d1", "d2");
        var model = new OnnxModel(g.Build(), [new OnnxOpset("", 19), new OnnxOpset(CustomOpNames.Domain, CustomOpNames.DomainVersion),
            new OnnxOpset("com.microsoft", 1)], "test", "1");

        using var options = new SessionOptions();
        GlmCustomOps.Register(options);
        using var session = new InferenceSession(model.ToBytes(), options);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, inputs.Select(i => i.Name).ToArray(), inputs.Select(i => i.Value).ToArray(),
            outputs.Select(o => o.Name).ToArray());
        // Copy results out: the collection owns its values.
        return results.Select(r =>
        {
            var info = r.GetTensorTypeAndShape();
            return info.ElementDataType switch
            {
                TensorElementType.Float => OrtValue.CreateTensorValueFromMemory(r.GetTensorDataAsSpan<float>().ToArray(), info.Shape),
                TensorElementType.Int32 => OrtValue.CreateTensorValueFromMemory(r.GetTensorDataAsSpan<int>().ToArray(), info.Shape),
                var t => throw new NotSupportedException(t.ToString()),
            };
        }).ToArray();
    }

    public static float[] RandomFloats(Random rng, int count, float scale = 1f) =>
        Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();
}
