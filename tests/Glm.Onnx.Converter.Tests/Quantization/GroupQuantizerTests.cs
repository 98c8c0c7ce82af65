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
    public void Int8ScaleIsMaxOver127AndHalvesRoundAwayFromZero()
    {
        // Group 0: max 127 -> scale 1; -63.5 -> -64, 0.5 -> 1. Group 1 all zero -> scale 0, q 0.
        float[] row = [127f, -63.5f, 0.5f, -0.5f, 0f, 0f, 0f, 0f];
        var q = new sbyte[8];
        var s = new Half[2];
        GroupQuantizer.QuantizeRow(row, 8, 4, q, s, "test");
        Assert.Equal(new sbyte[] { 127, -64, 1, -1, 0, 0, 0, 0 }, q);
        Assert.Equal(new[] { (Half)1f, (Half)0f }, s);
    }

    [Fact]
    public void Int4ScaleIsMaxOver7AndQStaysInRange()
    {
        // max 14 -> scale 2: 14 -> 7, -3 -> -1.5 -> -2, 1 -> 0.5 -> 1, -14 -> -7. Last group (odd tail of 1): 0.25 -> scale
        // 0.25 / 7 rounds in float16 to 0.03570556640625 (0x2892), q = round(7.0016) = 7.
        float[] row = [14f, -3f, 1f, -14f, 0.25f];
        var q = new sbyte[5];
        var s = new Half[2];
        GroupQuantizer.QuantizeRow(row, 4, 4, q, s, "test");
        Assert.Equal(new sbyte[] { 7, -2, 1, -7, 7 }, q);
        Assert.Equal((Half)2f, s[0]);
        Assert.Equal(0x2892, BitConverter.HalfToUInt16Bits(s[1]));
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
    public void KlSummaryUsesNearestRankPercentiles()
    {
        var s = KlSummary.From([0.4, 0.1, 0.3, 0.2], 3);
        Assert.Equal(0.25, s.Mean, 12);
        Assert.Equal(0.2, s.Median);
        Assert.Equal(0.4, s.P99);
        Assert.Equal(0.75, s.Top1Agreement);
    }
}
