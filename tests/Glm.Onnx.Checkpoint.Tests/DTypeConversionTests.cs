using Glm.Onnx.Checkpoint;

namespace Glm.Onnx.Checkpoint.Tests;

public sealed class DTypeConversionTests
{
    [Fact]
    public void E4M3_decode_matches_the_format_definition_for_all_256_codes()
    {
        for (int c = 0; c < 256; c++)
        {
            float expected = FixtureReaderTests.ReferenceE4M3((byte)c);
            float got = DTypeConversion.E4M3ToSingle((byte)c);
            if (float.IsNaN(expected)) Assert.True(float.IsNaN(got), $"code {c}");
            else Assert.Equal(expected, got);
        }
        Assert.Equal(448f, DTypeConversion.E4M3ToSingle(0x7E));
        Assert.Equal(1f, DTypeConversion.E4M3ToSingle(0x38));
        Assert.Equal(MathF.Pow(2, -9), DTypeConversion.E4M3ToSingle(0x01));
    }

    [Fact]
    public void E4M3_encode_round_trips_every_finite_code()
    {
        for (int c = 0; c < 256; c++)
        {
            float v = DTypeConversion.E4M3ToSingle((byte)c);
            if (float.IsNaN(v)) continue;
            byte back = DTypeConversion.SingleToE4M3(v);
            // -0 and +0 are distinct codes; both must survive.
            Assert.Equal(c, back);
        }
    }

    [Fact]
    public void E4M3_encode_rounds_to_nearest_even_against_a_brute_force_search()
    {
        var finite = Enumerable.Range(0, 256).Select(c => DTypeConversion.E4M3ToSingle((byte)c))
            .Where(v => !float.IsNaN(v) && v >= 0).Distinct().Order().ToArray();
        var rng = new Random(7);
        var samples = Enumerable.Range(0, 20000).Select(_ => (float)(Math.Pow(2, rng.NextDouble() * 20 - 12))).ToList();
        // Exact midpoints exercise ties-to-even.
        for (int i = 0; i + 1 < finite.Length; i++) samples.Add((finite[i] + finite[i + 1]) / 2);
        foreach (var x in samples)
        {
            float best = finite[0];
            foreach (var v in finite)
            {
                float d = MathF.Abs(v - x), bd = MathF.Abs(best - x);
                if (d < bd || (d == bd && (DTypeConversion.SingleToE4M3(v) & 1) == 0 && (DTypeConversion.SingleToE4M3(best) & 1) == 1)) best = v;
            }
            if (x > 448) best = 448; // saturating
            Assert.Equal(best, DTypeConversion.E4M3ToSingle(DTypeConversion.SingleToE4M3(x)));
            Assert.Equal(-best, DTypeConversion.E4M3ToSingle(DTypeConversion.SingleToE4M3(-x)));
        }
        Assert.Equal(0x7E, DTypeConversion.SingleToE4M3(1e9f));
        Assert.Equal(0x7F, DTypeConversion.SingleToE4M3(float.NaN));
    }

    [Fact]
    public void Bf16_encode_rounds_to_nearest_even()
    {
        // 1 + 2^-8 is exactly between bf16 1.0 and 1 + 2^-7: ties to even (1.0).
        Assert.Equal(0x3F80, DTypeConversion.SingleToBFloat16(1f + MathF.Pow(2, -8)));
        // 1 + 3 * 2^-8 lies between 1 + 2^-7 (odd) and 1 + 2^-6 (even): ties to the even one.
        Assert.Equal(0x3F82, DTypeConversion.SingleToBFloat16(1f + 3 * MathF.Pow(2, -8)));
        Assert.Equal(0x3F81, DTypeConversion.SingleToBFloat16(1f + MathF.Pow(2, -8) + MathF.Pow(2, -20)));
        Assert.True(float.IsNaN(DTypeConversion.BFloat16ToSingle(DTypeConversion.SingleToBFloat16(float.NaN))));
        var rng = new Random(3);
        for (int i = 0; i < 10000; i++)
        {
            float x = (float)(rng.NextDouble() * 200 - 100);
            float r = DTypeConversion.BFloat16ToSingle(DTypeConversion.SingleToBFloat16(x));
            // Nearest: the error is at most half a bf16 ulp (2^-8 relative).
            Assert.True(MathF.Abs(r - x) <= MathF.Abs(x) * MathF.Pow(2, -8), $"{x} -> {r}");
        }
    }

    [Fact]
    public void F16_decodes_through_half()
    {
        var bytes = BitConverter.GetBytes((Half)1.5).Concat(BitConverter.GetBytes((Half)(-0.25))).ToArray();
        var dest = new float[2];
        DTypeConversion.ToFloat32(DType.F16, bytes, dest);
        Assert.Equal(new[] { 1.5f, -0.25f }, dest);
    }
}
