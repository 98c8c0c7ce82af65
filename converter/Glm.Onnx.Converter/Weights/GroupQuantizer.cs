namespace Glm.Onnx.Converter.Weights;

/// <summary>
/// Weight-only symmetric quantisation of one matrix row in groups of <c>group</c> consecutive columns, exactly as the
/// shared weight-format contract states (docs/artifacts.md, "Quantized weights"): scale = max|w| / 127 (int8) or
/// max|w| / 7 (int4) rounded to float16 (round-to-nearest-even), q = clamp(round(w / scale)) against that float16
/// scale with halves rounded away from zero, int8 q in [-127, 127], int4 q in [-8, 7]; an all-zero group has scale 0
/// and q 0. Pure float32 arithmetic in a fixed order, so the same row gives the same bytes on every run.
/// </summary>
public static class GroupQuantizer
{
    /// <summary>Number of scale groups of a row of <paramref name="cols"/> columns.</summary>
    public static int GroupCount(long cols, int group) => checked((int)((cols + group - 1) / group));

    /// <summary>
    /// Quantises <paramref name="row"/> into <paramref name="q"/> (one value per column) and
    /// <paramref name="scales"/> (one per group).
    /// </summary>
    /// <param name="where">Names the tensor and row in the error for a scale float16 cannot hold.</param>
    public static void QuantizeRow(ReadOnlySpan<float> row, int bits, int group, Span<sbyte> q, Span<Half> scales, string where)
    {
        if (bits is not (4 or 8)) throw new ArgumentOutOfRangeException(nameof(bits), $"{bits}-bit quantisation is not supported");
        if (group <= 0 || group % 2 != 0) throw new ArgumentOutOfRangeException(nameof(group), "the group size must be even and positive");
        if (q.Length != row.Length || scales.Length != GroupCount(row.Length, group))
            throw new ArgumentException($"{where}: buffers do not match a row of {row.Length} columns in groups of {group}");
        float qmax = bits == 8 ? 127f : 7f;
        float qmin = bits == 8 ? -127f : -8f;
        for (int g = 0; g < scales.Length; g++)
        {
            int start = g * group, count = Math.Min(group, row.Length - start);
            var values = row.Slice(start, count);
            float max = 0f;
            for (int i = 0; i < count; i++)
            {
                if (!float.IsFinite(values[i])) throw new InvalidDataException($"{where}: column {start + i} is {values[i]}, not a finite weight");
                max = Math.Max(max, Math.Abs(values[i]));
            }
            var scale = (Half)(max / qmax);
            if (Half.IsInfinity(scale))
                throw new InvalidDataException($"{where}: columns {start}..{start + count - 1} reach |w| = {max}, beyond what a float16 scale can hold");
            scales[g] = scale;
            float s = (float)scale;
            var outQ = q.Slice(start, count);
            for (int i = 0; i < count; i++)
                outQ[i] = s == 0f ? (sbyte)0 : (sbyte)Math.Clamp(MathF.Round(values[i] / s, MidpointRounding.AwayFromZero), qmin, qmax);
        }
    }
}
