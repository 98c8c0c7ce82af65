using Glm.Onnx.Converter.Onnx;

namespace Glm.Onnx.Converter.Graph;

/// <summary>The standard-op building blocks of a GLM layer, each naming its intermediates under a prefix.</summary>
public static class GraphOps
{
    /// <summary>y = x @ W^T with W in the checkpoint's [out, in] layout.</summary>
    public static string Linear(GraphBuilder g, string x, string weight, string output) =>
        g.Op("Gemm", output, [x, weight], OnnxAttribute.Int("transB", 1));

    /// <summary>RMSNorm over the last axis: x * rsqrt(mean(x^2) + eps) * w, in float32 as the reference does.</summary>
    public static string RmsNorm(GraphBuilder g, string x, string weight, float eps, string prefix)
    {
        var sq = g.Op("Mul", prefix + ".sq", [x, x]);
        var mean = g.Op("ReduceMean", prefix + ".mean_sq", [sq, g.Int64s(-1)], OnnxAttribute.Int("keepdims", 1));
        var plus = g.Op("Add", prefix + ".mean_sq_eps", [mean, g.Scalar(eps)]);
        var root = g.Op("Sqrt", prefix + ".rms", [plus]);
        var inv = g.Op("Reciprocal", prefix + ".inv_rms", [root]);
        var normed = g.Op("Mul", prefix + ".normed", [x, inv]);
        return g.Op("Mul", prefix, [normed, weight]);
    }

    /// <summary>SiLU(gate) * up, then down: the SwiGLU MLP of dense layers and the shared expert.</summary>
    public static string SwiGlu(GraphBuilder g, string x, string gateW, string upW, string downW, string prefix)
    {
        var gate = Linear(g, x, gateW, prefix + ".gate");
        var up = Linear(g, x, upW, prefix + ".up");
        var sig = g.Op("Sigmoid", prefix + ".gate_sigmoid", [gate]);
        var silu = g.Op("Mul", prefix + ".gate_silu", [gate, sig]);
        var act = g.Op("Mul", prefix + ".act", [silu, up]);
        return Linear(g, act, downW, prefix + ".down");
    }

    /// <summary>
    /// Interleaved (GPT-J) rotary embedding on the last axis of <paramref name="x"/>, whose leading dims are given by
    /// <paramref name="leading"/> (0 copies a dim in Reshape): pairs (2i, 2i+1) rotate by angle pos * inv_freq[i].
    /// The output stays interleaved; q and k get the same layout, so dot products equal the reference's.
    /// <paramref name="cos"/> / <paramref name="sin"/> must broadcast to [..., rope_dim / 2, 1].
    /// </summary>
    public static string Rope(GraphBuilder g, string x, long[] leading, int ropeDim, string cos, string sin, string prefix)
    {
        var pairs = g.Op("Reshape", prefix + ".pairs", [x, g.Int64s([.. leading, ropeDim / 2, 2])]);
        var halves = g.Node("Split", [prefix + ".even", prefix + ".odd"], [pairs, g.Int64s(1, 1)], "", OnnxAttribute.Int("axis", -1));
        string even = halves[0], odd = halves[1];
        var ec = g.Op("Mul", prefix + ".even_cos", [even, cos]);
        var os = g.Op("Mul", prefix + ".odd_sin", [odd, sin]);
        var oc = g.Op("Mul", prefix + ".odd_cos", [odd, cos]);
        var es = g.Op("Mul", prefix + ".even_sin", [even, sin]);
        var newEven = g.Op("Sub", prefix + ".even_rot", [ec, os]);
        var newOdd = g.Op("Add", prefix + ".odd_rot", [oc, es]);
        var joined = g.Op("Concat", prefix + ".pairs_rot", [newEven, newOdd], OnnxAttribute.Int("axis", -1));
        return g.Op("Reshape", prefix, [joined, g.Int64s([.. leading, ropeDim])]);
    }
}
