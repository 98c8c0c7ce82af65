using Glm.Onnx.Converter.Weights;

namespace Glm.Onnx.Tests.Quantization;

/// <summary>
/// <see cref="ParallelRowQuantizer"/> against the plain per-row quantiser and packer: a chunk of 20,000 rows (enough
/// for every thread to take rows at the same time) gives the bytes of quantising and packing each row on its own, in
/// order, at 1, 2, 3 and 8 threads (asserted to have run on more than one), for int8 and int4, both layouts, both passes, with a ragged last group.
/// </summary>
public sealed class ParallelRowQuantizerTests
{
    [Theory]
    [InlineData(8, QuantizedLayout.Contract)]
    [InlineData(4, QuantizedLayout.Contract)]
    [InlineData(4, QuantizedLayout.MatMulNBits)]
    [InlineData(8, QuantizedLayout.MatMulNBits)]
    public void AnyThreadCountGivesTheRowByRowBytes(int bits, QuantizedLayout layout)
    {
        const int rows = 20000, cols = 200, group = 32;  // 200 = 6 groups of 32 + 8
        // The test host keeps the pool's threads busy: without idle ones Parallel.For runs every row on the caller.
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, 16), io);
        var random = new Random(13);
        var floats = new float[rows * cols];
        for (int i = 0; i < floats.Length; i++) floats[i] = (float)((random.NextDouble() - 0.5) * Math.Exp(random.NextDouble() * 4 - 2));
        foreach (bool scalesPass in new[] { true, false })
        {
            int rowBytes = (int)ParallelRowQuantizer.RowBytes(layout, bits, cols, group, scalesPass);
            var expected = new byte[rows * rowBytes];
            var q = new sbyte[cols];
            var scales = new Half[GroupQuantizer.GroupCount(cols, group)];
            for (int r = 0; r < rows; r++)
            {
                GroupQuantizer.QuantizeRow(floats.AsSpan(r * cols, cols), bits, group, q, scales, "test");
                var dest = expected.AsSpan(r * rowBytes, rowBytes);
                if (scalesPass) QuantizedPacking.PackScales(layout, scales, dest);
                else QuantizedPacking.PackRow(layout, bits, group, q, dest);
            }
            foreach (int threads in new[] { 1, 2, 3, 8 })
            {
                var packed = new byte[rows * rowBytes + 5];
                var seen = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
                ParallelRowQuantizer.QuantizeRows(floats, rows, cols, bits, group, layout, scalesPass, threads, packed, r =>
                {
                    seen[Environment.CurrentManagedThreadId] = 0;
                    return $"row {r}";
                });
                if (threads > 1) Assert.True(seen.Count > 1, $"{threads} threads: all rows ran on one thread, the test proves nothing");
                Assert.True(packed.AsSpan(0, rows * rowBytes).SequenceEqual(expected), $"{threads} threads, scales pass {scalesPass}");
                Assert.All(packed[(rows * rowBytes)..], b => Assert.Equal(0, b));
            }
        }
    }

    [Fact]
    public void TheFirstBadRowIsReportedWhateverThreadFindsIt()
    {
        const int rows = 1000, cols = 64;
        var floats = Enumerable.Range(0, rows * cols).Select(i => (i % 7) * 0.01f).ToArray();
        floats[700 * cols + 3] = float.NaN;
        floats[300 * cols + 5] = float.PositiveInfinity;
        var e = Assert.Throws<InvalidDataException>(() =>
            ParallelRowQuantizer.QuantizeRows(floats, rows, cols, 4, 32, QuantizedLayout.Contract, false, 4, new byte[rows * cols / 2], r => $"w.bin: tensor 'x' row {r}"));
        Assert.Equal("w.bin: tensor 'x' row 300: column 5 is Infinity, not a finite weight", e.Message);
    }
}
