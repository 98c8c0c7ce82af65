using System.Runtime.ExceptionServices;

namespace Glm.Onnx.Converter.Weights;

/// <summary>
/// Quantises the rows of one chunk ([rows, cols] float32) on up to <c>threads</c> threads into their packed scales or
/// packed weights. Each row is quantised from its own floats into its own fixed slice of the output (no value crosses
/// rows), so the bytes are those of one thread on every machine and thread count; memory is the chunk's output plus a
/// row's codes and scales per thread. A bad row fails the chunk with the error of the first bad row, as one thread
/// would report it.
/// </summary>
public static class ParallelRowQuantizer
{
    /// <summary>Bytes of one row's packed scales (<paramref name="scalesPass"/>) or packed weights.</summary>
    public static long RowBytes(QuantizedLayout layout, int bits, long cols, int group, bool scalesPass) => scalesPass
        ? (long)GroupQuantizer.GroupCount(cols, group) * QuantizedPacking.ScaleBytes(layout)
        : QuantizedPacking.RowBytes(layout, bits, cols, group);

    /// <summary>
    /// Quantises rows [0, <paramref name="rows"/>) of <paramref name="floats"/> into
    /// <paramref name="packed"/>[0, rows x <see cref="RowBytes"/>); <paramref name="where"/> names row i in errors.
    /// </summary>
    public static void QuantizeRows(float[] floats, int rows, int cols, int bits, int group, QuantizedLayout layout, bool scalesPass,
        int threads, byte[] packed, Func<int, string> where)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), $"--threads {threads}: at least one thread is needed");
        int groups = GroupQuantizer.GroupCount(cols, group), rowBytes = checked((int)RowBytes(layout, bits, cols, group, scalesPass));
        if (floats.Length < (long)rows * cols || packed.Length < (long)rows * rowBytes)
            throw new ArgumentException($"{rows} rows of {cols} columns need {(long)rows * cols} floats and {(long)rows * rowBytes} bytes, " +
                                        $"got {floats.Length} and {packed.Length}");
        int firstBad = int.MaxValue;
        Exception? failure = null;
        var gate = new object();
        Parallel.For(0, rows, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Math.Min(threads, rows)) },
            () => (Q: new sbyte[cols], Scales: new Half[groups]),
            (i, _, row) =>
            {
                try
                {
                    GroupQuantizer.QuantizeRow(floats.AsSpan(i * cols, cols), bits, group, row.Q, row.Scales, where(i));
                    var dest = packed.AsSpan(i * rowBytes, rowBytes);
                    if (scalesPass) QuantizedPacking.PackScales(layout, row.Scales, dest);
                    else QuantizedPacking.PackRow(layout, bits, group, row.Q, dest);
                }
                catch (Exception e) when (e is InvalidDataException or ArgumentException)
                {
                    lock (gate)
                        if (i < firstBad) (firstBad, failure) = (i, e);
                }
                return row;
            },
            _ => { });
        if (failure is not null) ExceptionDispatchInfo.Throw(failure);
    }
}
