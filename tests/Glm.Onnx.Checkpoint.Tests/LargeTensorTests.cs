using Glm.Onnx.Checkpoint;
using Glm.Onnx.Tests;

namespace Glm.Onnx.Checkpoint.Tests;

public sealed class LargeTensorTests
{
    [Fact]
    public void Tensor_over_2_GiB_is_read_in_ranges()
    {
        using var dir = Fixtures.NewTempDir();
        var path = dir.File("big.safetensors");
        const long elements = 1_200_000_000; // 2.4 GB of BF16: past the span limit
        // A sparse file: the header plus a 2.4 GB data section that is all holes except the last 4 bytes.
        RawFiles.Write(path, "{\"big\": {\"dtype\": \"BF16\", \"shape\": [" + elements + "], \"data_offsets\": [0, " + 2 * elements + "]}}", 0);
        long dataStart;
        using (var f = File.OpenWrite(path))
        {
            dataStart = f.Length;
            f.SetLength(dataStart + 2 * elements);
            f.Seek(dataStart + 2 * elements - 4, SeekOrigin.Begin);
            f.Write([0x80, 0x3F, 0x00, 0xC0]); // bf16 1.0, -2.0
        }
        using var file = SafetensorsFile.Open(path);
        var e = Assert.Throws<InvalidOperationException>(() => file.GetBytes("big"));
        Assert.Contains("'big'", e.Message);
        Assert.Contains("over the 2 GiB span limit", e.Message);
        Assert.Equal(new byte[] { 0x80, 0x3F, 0x00, 0xC0 }, file.GetBytes("big", 2 * elements - 4, 4).ToArray());
        var tail = new float[3];
        file.CopyAsFloat32("big", tail, elements - 3);
        Assert.Equal(new[] { 0f, 1f, -2f }, tail);
        Assert.Throws<ArgumentOutOfRangeException>(() => file.CopyAsFloat32("big", tail, elements - 2));
    }

    [Fact]
    public void Normal_stream_is_the_same_however_it_is_split()
    {
        const int n = 3 * NormalGenerator.ChunkSize + 123;
        var whole = new float[n];
        NormalGenerator.Fill(77, 0, whole, 1f);
        var pieces = new float[n];
        int[] cuts = [0, 5, 4096, 4100, 9000, n];
        for (int i = 0; i + 1 < cuts.Length; i++)
            NormalGenerator.Fill(77, cuts[i], pieces.AsSpan(cuts[i], cuts[i + 1] - cuts[i]), 1f);
        Assert.Equal(whole, pieces);
        var parallel = new float[n];
        NormalGenerator.FillParallel(77, 0, parallel, n, 1f);
        Assert.Equal(whole, parallel);
        Assert.All(whole, v => Assert.True(float.IsFinite(v)));
    }
}
