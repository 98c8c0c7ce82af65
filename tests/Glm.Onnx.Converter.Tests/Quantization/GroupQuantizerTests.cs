using Glm.Onnx.Converter.Weights;
using Glm.Onnx.Verification;

namespace Glm.Onnx.Tests.Quantization;

/// <summary>
/// The shared weight-format contract's quantisation and both packings, on rows whose expected values are worked out
/// by hand (scales that are exact in float16, halves that must round away from zero).
/// </summary>
public sealed class GroupQuantizerTests
{
    [Fact]
    public void Int8HalvesRoundAwayFromZeroUnderThePlainScale()
    {
        // Group 0: max 127 -> plain scale 1 (error 0.5: the two halves). Both other divisors are worse: / 126 ->
        // float16 1.0078125 leaves 127 at 126.98 and both halves at 0 (error 0.50024); / 128 clips 127 to 127 x 0.9921875. 0.5 -> 1, -0.5 -> -1 (away from
        // zero; to-even would give 0). Group 1 all zero -> scale 0, q 0.
        float[] row = [127f, 0.5f, -0.5f, 0f, 0f, 0f, 0f, 0f];
        var q = new sbyte[8];
        var s = new Half[2];
        GroupQuantizer.QuantizeRow(row, 8, 4, q, s, "test");
        Assert.Equal(new sbyte[] { 127, 1, -1, 0, 0, 0, 0, 0 }, q);
        Assert.Equal(new[] { (Half)1f, (Half)0f }, s);
    }

    [Fact]
    public void Int8SearchTakesTheDivisorWhoseFloat16ScaleIsExact()
    {
        // 126.984375 = 126 x 1.0078125 and 63.4921875 = 63 x 1.0078125. The plain scale 126.984375 / 127 = 0.99988 rounds
        // to 1.0 in float16, which leaves 63.49 at 63 (error 0.242); / 126 gives 1.0078125 exactly, error 0.
        float[] row = [126.984375f, 63.4921875f, 0f, 0f];
        var q = new sbyte[4];
        var s = new Half[1];
        GroupQuantizer.QuantizeRow(row, 8, 4, q, s, "test");
        Assert.Equal(new sbyte[] { 126, 63, 0, 0 }, q);
        Assert.Equal((Half)1.0078125f, s[0]);
    }

    [Fact]
    public void Int4KeepsMaxOver7WhenNoDivisorIsBetterAndQStaysInRange()
    {
        // max 14 -> scale 2: 14 -> 7, -3 -> -1.5 -> -2, 1 -> 0.5 -> 1, -14 -> -7, error 2; the best other divisor (/ 7.25,
        // float16 scale 1.93164) gives 2.07. Last group (odd tail of 1): 0.25 -> scale 0.25 / 7 rounds in float16 to
        // 0.03570556640625 (0x2892), q = round(7.0016) = 7, error 4e-9; / 8 clips 0.25 to 7 x 0.03125.
        float[] row = [14f, -3f, 1f, -14f, 0.25f];
        var q = new sbyte[5];
        var s = new Half[2];
        GroupQuantizer.QuantizeRow(row, 4, 4, q, s, "test");
        Assert.Equal(new sbyte[] { 7, -2, 1, -7, 7 }, q);
        Assert.Equal((Half)2f, s[0]);
        Assert.Equal(0x2892, BitConverter.HalfToUInt16Bits(s[1]));
    }

    [Fact]
    public void Int4SearchUsesMinus8ForANegativeMaximum()
    {
        // Plain: scale 8 / 7 rounds in float16 to 1.142578125: -8 -> -7 (-7.998), 1 -> round(0.875) = 1 (1.1426), error
        // 0.0203. / 8 gives scale 1: -8 -> -8 and 1 -> 1 exactly (error 0), the first divisor that does so.
        float[] row = [-8f, 1f, 0f, 0f];
        var q = new sbyte[4];
        var s = new Half[1];
        GroupQuantizer.QuantizeRow(row, 4, 4, q, s, "test");
        Assert.Equal(new sbyte[] { -8, 1, 0, 0 }, q);
        Assert.Equal((Half)1f, s[0]);
    }

    /// <summary>
    /// On Gaussian rows (the fixtures' weights are Gaussian): every group's squared error is at most the plain
    /// max / 127 or max / 7 scale's (computed here on its own), every value is within half a step of its code or
    /// clipped by less than the largest value's own error bound, codes stay in range, a second run gives the same
    /// bytes, and the total squared error drops by the documented amount (docs/benchmarks.md, "Scale search").
    /// </summary>
    [Theory]
    [InlineData(8, 32, 0.05)]
    [InlineData(4, 32, 0.15)]
    [InlineData(4, 128, 0.15)]
    public void SearchNeverLosesToThePlainScaleAndIsDeterministic(int bits, int group, double minGain)
    {
        var random = new Random(13);
        const int cols = 4096;
        var row = new float[cols];
        for (int i = 0; i < cols; i++)
            row[i] = 0.08f * (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        int groups = GroupQuantizer.GroupCount(cols, group);
        var q = new sbyte[cols];
        var q2 = new sbyte[cols];
        var s = new Half[groups];
        var s2 = new Half[groups];
        GroupQuantizer.QuantizeRow(row, bits, group, q, s, "test");
        GroupQuantizer.QuantizeRow(row, bits, group, q2, s2, "test");
        Assert.Equal(q, q2);
        Assert.Equal(s, s2);
        float qmax = bits == 8 ? 127 : 7, qmin = bits == 8 ? -127 : -8;
        double searched = 0, plain = 0;
        for (int g = 0; g < groups; g++)
        {
            var values = row.AsSpan(g * group, group);
            float max = 0;
            foreach (var v in values) max = Math.Max(max, Math.Abs(v));
            float plainScale = (float)(Half)(max / qmax), scale = (float)s[g];
            double groupSearched = 0, groupPlain = 0;
            for (int i = 0; i < group; i++)
            {
                float w = values[i];
                int code = q[g * group + i];
                Assert.InRange(code, qmin, qmax);
                double e = w - code * scale;
                bool clipped = code == (int)qmax && w > 0 || code == (int)qmin && w < 0;
                Assert.True(Math.Abs(e) <= scale / 2 * (1 + 1e-6) || clipped && Math.Abs(e) <= max - Math.Abs(code) * scale + 1e-6,
                    $"group {g} column {i}: {w} coded {code} x {scale}");
                groupSearched += e * e;
                float p = Math.Clamp(MathF.Round(w / plainScale, MidpointRounding.AwayFromZero), qmin, qmax);
                groupPlain += (w - p * plainScale) * (w - p * plainScale);
            }
            Assert.True(groupSearched <= groupPlain * (1 + 1e-5), $"group {g}: searched error {groupSearched} above the plain scale's {groupPlain}");
            searched += groupSearched;
            plain += groupPlain;
        }
        Assert.True(searched <= (1 - minGain) * plain, $"{bits}-bit, group {group}: squared error {searched:E3} against plain {plain:E3}");
    }

    [Fact]
    public void NonFiniteWeightIsRefusedWithItsPlace()
    {
        var e = Assert.Throws<InvalidDataException>(() =>
            GroupQuantizer.QuantizeRow([1f, float.NaN], 8, 2, new sbyte[2], new Half[1], "w.bin: tensor 'x' row 3"));
        Assert.Contains("tensor 'x' row 3", e.Message);
        Assert.Contains("column 1", e.Message);
    }

    [Fact]
    public void Int4ContractPacksLowNibbleFirstAndPadsAnOddRowWithEight()
    {
        var dest = new byte[2];
        QuantizedPacking.PackRow(QuantizedLayout.Contract, 4, 4, [1, -2, 3], dest);
        // (1 + 8) | (-2 + 8) << 4 = 0x69; (3 + 8) | 8 << 4 = 0x8B.
        Assert.Equal(new byte[] { 0x69, 0x8B }, dest);
    }

    [Fact]
    public void MatMulNBitsPadsToWholeGroupsWithZeroPoint()
    {
        var int4 = new byte[4];
        QuantizedPacking.PackRow(QuantizedLayout.MatMulNBits, 4, 8, [1, -2, 3], int4);
        Assert.Equal(new byte[] { 0x69, 0x8B, 0x88, 0x88 }, int4);
        var int8 = new byte[4];
        QuantizedPacking.PackRow(QuantizedLayout.MatMulNBits, 8, 4, [1, -2, -127], int8);
        Assert.Equal(new byte[] { 129, 126, 1, 128 }, int8);
        var contract8 = new byte[3];
        QuantizedPacking.PackRow(QuantizedLayout.Contract, 8, 4, [1, -2, -127], contract8);
        Assert.Equal(new byte[] { 1, 0xFE, 0x81 }, contract8);
    }

    [Fact]
    public void ScalesAreFloat16BitsForTheContractAndFloat32ForMatMulNBits()
    {
        var h = new byte[2];
        QuantizedPacking.PackScales(QuantizedLayout.Contract, [(Half)2f], h);
        Assert.Equal(new byte[] { 0x00, 0x40 }, h);
        var f = new byte[4];
        QuantizedPacking.PackScales(QuantizedLayout.MatMulNBits, [(Half)2f], f);
        Assert.Equal(new byte[] { 0, 0, 0, 0x40 }, f);
    }

    [Fact]
    public void KlOfIdenticalRowsIsZeroAndMatchesTheClosedForm()
    {
        Assert.Equal(0, KlDivergence.Of([1f, 2f, 3f], [1f, 2f, 3f]), 12);
        // p = (1/2, 1/2) from logits (0, 0), q = (e/(1+e), 1/(1+e)) from logits (1, 0):
        // sum p ln(p/q) = 0.5 ln(0.5 (1+e)/e) + 0.5 ln(0.5 (1+e)).
        double e = Math.E, expected = 0.5 * Math.Log(0.5 * (1 + e) / e) + 0.5 * Math.Log(0.5 * (1 + e));
        Assert.Equal(expected, KlDivergence.Of([0f, 0f], [1f, 0f]), 9);
    }

    [Fact]
    public void PositionComparisonMeasuresTheMarginAndTheCentredLogitChange()
    {
        // Reference (0, 1, 3): margin 3 - 1 = 2. Change (0.5, 0.5, -0.5), mean 1/6, centred (1/3, 1/3, -2/3): RMS
        // sqrt((1/9 + 1/9 + 4/9) / 3) = sqrt(2/9). Both argmaxes are index 2.
        var p = PositionComparison.Of([0f, 1f, 3f], [0.5f, 1.5f, 2.5f]);
        Assert.Equal(2.0, p.Margin, 12);
        Assert.Equal(Math.Sqrt(2.0 / 9), p.LogitChange, 6);
        Assert.True(p.Top1Agrees);
        // A shift of every logit changes nothing.
        Assert.Equal(0, PositionComparison.Of([0f, 1f, 3f], [7f, 8f, 10f]).LogitChange, 12);
        var flipped = PositionComparison.Of([0f, 2.9f, 3f], [0f, 3f, 2.9f]);
        Assert.False(flipped.Top1Agrees);
        Assert.Equal(0.1, flipped.Margin, 5);

        var s = KlSummary.From([p, flipped], [0.05, 0.5, 5]);
        Assert.Equal(0.5, s.Top1Agreement);
        Assert.Equal([(0.05, 2, 0.5), (0.5, 1, 1.0)], s.Bands.Take(2).Select(b => (b.MinMargin, b.Positions, b.Top1Agreement)));
        Assert.Equal(0, s.Bands[2].Positions);
        Assert.True(double.IsNaN(s.Bands[2].Top1Agreement));
    }

    [Fact]
    public void KlSummaryUsesNearestRankPercentiles()
    {
        var s = KlSummary.From([0.4, 0.1, 0.3, 0.2], 3);
        Assert.Equal(0.25, s.Mean, 12);
        Assert.Equal(0.2, s.Median);
        Assert.Equal(0.4, s.P99);
        Assert.Equal(0.75, s.Top1Agreement);
    }
}
