using System.Runtime.Intrinsics;

namespace Glm.Onnx.Converter.Weights;

/// <summary>
/// Weight-only symmetric quantisation of one matrix row in groups of <c>group</c> consecutive columns, in the shared
/// weight-format contract (docs/artifacts.md, "Quantized weights"): per group a float16 scale and q = clamp(round(w /
/// scale)) against that float16 scale with halves rounded away from zero, int8 q in [-127, 127], int4 q in [-8, 7];
/// an all-zero group has scale 0 and q 0. The scale is max|w| / d for the divisor d among a fixed list of candidates
/// (<see cref="Int8Divisors"/>, <see cref="Int4Divisors"/>: the plain max|w| / 127 or / 7 first) whose float16 scale
/// gives the group the smallest sum of squared errors; a later candidate must be strictly better, so ties keep the
/// plain one. Pure float32 arithmetic in a fixed order, so the same row gives the same bytes on every run.
/// </summary>
public static class GroupQuantizer
{
    /// <summary>
    /// int8 scale divisors, max|w| / 127 first. Above 127 the largest value is clamped to 127 (a little clipping for a
    /// finer step); below it q never reaches 127, which helps where max / 127 rounds badly in float16. On Gaussian
    /// groups of 32 the search lowers the squared error by ~8 % against max / 127 alone (9 divisors from 126 to 128
    /// would give ~12 % at three times the cost; docs/benchmarks.md, "Scale search").
    /// </summary>
    public static ReadOnlySpan<float> Int8Divisors => [127f, 126f, 128f];

    /// <summary>
    /// int4 scale divisors, max|w| / 7 first, up to / 8.5: a divisor above 7 uses the code -8 for a negative maximum
    /// (as ggml's Q4_0 does with / 8) and trades clipping of the largest value for a finer step. On Gaussian / uniform
    /// / Laplace groups of 32 the search lowers the squared error by 19 - 21 % against max / 7 alone.
    /// </summary>
    public static ReadOnlySpan<float> Int4Divisors => [7f, 6.5f, 6.75f, 7.25f, 7.5f, 7.75f, 8f, 8.25f, 8.5f];

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
        var divisors = bits == 8 ? Int8Divisors : Int4Divisors;
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
            var scale = (Half)(max / divisors[0]);
            if (Half.IsInfinity(scale))
                throw new InvalidDataException($"{where}: columns {start}..{start + count - 1} reach |w| = {max}, beyond what a float16 scale can hold");
            if (scale != Half.Zero)
            {
                float best = SquaredError(values, (float)scale, qmin, qmax);
                for (int d = 1; d < divisors.Length && best > 0f; d++)
                {
                    var candidate = (Half)(max / divisors[d]);
                    if (Half.IsInfinity(candidate) || candidate == Half.Zero) continue;
                    float error = SquaredError(values, (float)candidate, qmin, qmax);
                    if (error < best) (best, scale) = (error, candidate);
                }
            }
            scales[g] = scale;
            float s = (float)scale;
            var outQ = q.Slice(start, count);
            for (int i = 0; i < count; i++) outQ[i] = s == 0f ? (sbyte)0 : (sbyte)Code(values[i], s, qmin, qmax);
        }
    }

    /// <summary>q = clamp(round(w / s)), halves away from zero.</summary>
    private static float Code(float w, float s, float qmin, float qmax) => Math.Clamp(MathF.Round(w / s, MidpointRounding.AwayFromZero), qmin, qmax);

    /// <summary>
    /// Sum over the group of (w - q s)^2 with the codes <see cref="Code"/> gives at scale <paramref name="s"/>: eight
    /// columns at a time in Vector256 lanes (IEEE operations per lane, the same rounding as <see cref="Code"/>: halves away
    /// from zero), lane sums added in a fixed order, the tail one by one. Fixed width and order, so every machine picks
    /// the same divisor.
    /// </summary>
    private static float SquaredError(ReadOnlySpan<float> values, float s, float qmin, float qmax)
    {
        int i = 0;
        float sum = 0f;
        if (values.Length >= Vector256<float>.Count)
        {
            Vector256<float> scale = Vector256.Create(s), lo = Vector256.Create(qmin), hi = Vector256.Create(qmax);
            Vector256<float> half = Vector256.Create(0.5f), one = Vector256<float>.One, acc = Vector256<float>.Zero;
            for (; i + Vector256<float>.Count <= values.Length; i += Vector256<float>.Count)
            {
                var w = Vector256.Create(values.Slice(i, Vector256<float>.Count));
                var x = w / scale;
                var whole = Vector256.Truncate(x);
                var away = Vector256.GreaterThanOrEqual(Vector256.Abs(x - whole), half);
                var q = Vector256.Min(Vector256.Max(whole + (Vector256.CopySign(one, x) & away), lo), hi);
                var e = w - q * scale;
                acc += e * e;
            }
            for (int lane = 0; lane < Vector256<float>.Count; lane++) sum += acc.GetElement(lane);
        }
        for (; i < values.Length; i++)
        {
            float e = values[i] - Code(values[i], s, qmin, qmax) * s;
            sum += e * e;
        }
        return sum;
    }
}
