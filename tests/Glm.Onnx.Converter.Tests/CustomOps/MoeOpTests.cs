using Glm.Onnx.Contracts;
using Glm.Onnx.Converter.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Glm.Onnx.Tests.CustomOps;

/// <summary>MoeRouting and MoeExperts as single-node ONNX graphs against plain C# reference loops.</summary>
public sealed class MoeOpTests
{
    [Fact]
    public void MoeRoutingMatchesGroupLimitedReference()
    {
        const int T = 6, E = 16, topK = 4, nGroup = 4, topkGroup = 2;
        const float scaling = 2.5f;
        var rng = new Random(7);
        var logits = SingleNodeGraph.RandomFloats(rng, T * E, 3);
        var bias = SingleNodeGraph.RandomFloats(rng, E, 0.5f);
        using var l = OrtValue.CreateTensorValueFromMemory(logits, [T, E]);
        using var b = OrtValue.CreateTensorValueFromMemory(bias, [E]);
        var outs = SingleNodeGraph.Run(CustomOpNames.MoeRouting,
            [("router_logits", OnnxDataType.Float, l), ("correction_bias", OnnxDataType.Float, b)],
            [("expert_ids", OnnxDataType.Int32), ("expert_weights", OnnxDataType.Float)],
            OnnxAttribute.Int("top_k", topK), OnnxAttribute.Int("n_group", nGroup), OnnxAttribute.Int("topk_group", topkGroup),
            OnnxAttribute.Int("norm_topk_prob", 1), OnnxAttribute.Float("routed_scaling_factor", scaling));
        var ids = outs[0].GetTensorDataAsSpan<int>().ToArray();
        var weights = outs[1].GetTensorDataAsSpan<float>().ToArray();

        for (int t = 0; t < T; t++)
        {
            var s = Enumerable.Range(0, E).Select(e => 1 / (1 + Math.Exp(-logits[t * E + e]))).ToArray();
            var biased = Enumerable.Range(0, E).Select(e => s[e] + bias[e]).ToArray();
            int perGroup = E / nGroup;
            var keptGroups = Enumerable.Range(0, nGroup)
                .OrderByDescending(g => biased.Skip(g * perGroup).Take(perGroup).OrderDescending().Take(2).Sum()).ThenBy(g => g)
                .Take(topkGroup).ToHashSet();
            var chosen = Enumerable.Range(0, E).Where(e => keptGroups.Contains(e / perGroup))
                .OrderByDescending(e => biased[e]).ThenBy(e => e).Take(topK).ToArray();
            double sum = chosen.Sum(e => s[e]) + 1e-20;
            var expected = chosen.ToDictionary(e => e, e => s[e] / sum * scaling);

            var actual = Enumerable.Range(0, topK).ToDictionary(k => ids[t * topK + k], k => (double)weights[t * topK + k]);
            Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
            foreach (var (e, w) in expected) Assert.Equal(w, actual[e], 5);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MoeExpertsMatchesSwiGluReference(bool bf16)
    {
        const int T = 5, H = 12, I = 7, E = 4, K = 2;
        var rng = new Random(11);
        var x = SingleNodeGraph.RandomFloats(rng, T * H);
        var gate = SingleNodeGraph.RandomFloats(rng, E * I * H, 0.5f);
        var up = SingleNodeGraph.RandomFloats(rng, E * I * H, 0.5f);
        var down = SingleNodeGraph.RandomFloats(rng, E * H * I, 0.5f);
        if (bf16) { RoundToBf16(gate); RoundToBf16(up); RoundToBf16(down); }
        var ids = Enumerable.Range(0, T * K).Select(i => (i * 3 + i / K) % E).ToArray();
        var w = SingleNodeGraph.RandomFloats(rng, T * K);

        using var xv = OrtValue.CreateTensorValueFromMemory(x, [T, H]);
        using var iv = OrtValue.CreateTensorValueFromMemory(ids, [T, K]);
        using var wv = OrtValue.CreateTensorValueFromMemory(w, [T, K]);
        using var gv = Weights(gate, [E, I, H], bf16);
        using var uv = Weights(up, [E, I, H], bf16);
        using var dv = Weights(down, [E, H, I], bf16);
        var type = bf16 ? OnnxDataType.BFloat16 : OnnxDataType.Float;
        var output = SingleNodeGraph.Run(CustomOpNames.MoeExperts,
            [("hidden", OnnxDataType.Float, xv), ("expert_ids", OnnxDataType.Int32, iv), ("expert_weights", OnnxDataType.Float, wv),
             ("gate_weights", type, gv), ("up_weights", type, uv), ("down_weights", type, dv)],
            [("output", OnnxDataType.Float)])[0].GetTensorDataAsSpan<float>().ToArray();

        for (int t = 0; t < T; t++)
            for (int h = 0; h < H; h++)
            {
                double expected = 0;
                for (int k = 0; k < K; k++)
                {
                    int e = ids[t * K + k];
                    for (int j = 0; j < I; j++)
                    {
                        double g = 0, u = 0;
                        for (int c = 0; c < H; c++)
                        {
                            g += gate[(e * I + j) * H + c] * x[t * H + c];
                            u += up[(e * I + j) * H + c] * x[t * H + c];
                        }
                        double act = g / (1 + Math.Exp(-g)) * u;
                        expected += w[t * K + k] * down[(e * H + h) * I + j] * act;
                    }
                }
                Assert.Equal(expected, output[t * H + h], 4);
            }
    }

    private static void RoundToBf16(float[] values)
    {
        for (int i = 0; i < values.Length; i++)
            values[i] = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(values[i]) & unchecked((int)0xFFFF0000));
    }

    private static OrtValue Weights(float[] values, long[] shape, bool bf16)
    {
        if (!bf16) return OrtValue.CreateTensorValueFromMemory(values, shape);
        var bits = values.Select(v => new BFloat16((ushort)(BitConverter.SingleToUInt32Bits(v) >> 16))).ToArray();
        return OrtValue.CreateTensorValueFromMemory(bits, shape);
    }
}
