using Glm.Onnx.Checkpoint;
using Glm.Onnx.Tests;

namespace Glm.Onnx.Checkpoint.Tests;

public sealed class WriterTests
{
    [Fact]
    public void Written_file_reads_back_with_aligned_data()
    {
        using var dir = Fixtures.NewTempDir();
        var path = dir.File("w.safetensors");
        var a = Enumerable.Range(0, 6).Select(i => (byte)i).ToArray();
        var specs = new List<TensorSpec> { new("a", DType.BF16, [3]), new("empty", DType.F32, [0, 4]), new("b", DType.F32, [2, 2]) };
        using (var w = SafetensorsWriter.Create(path, specs, new Dictionary<string, string> { ["format"] = "pt" }))
        {
            w.WriteTensor("a", a);
            w.AppendFloats([1f, 2f]);   // b in two pieces
            w.AppendFloats([3f, -4.5f]);
            w.Complete();
        }
        using var f = SafetensorsFile.Open(path);
        Assert.Equal(0, f.Header.DataStart % 8);
        Assert.Equal("pt", f.Metadata["format"]);
        Assert.Equal(a, f.GetBytes("a").ToArray());
        Assert.Equal(new[] { 1f, 2f, 3f, -4.5f }, f.ReadFloat32("b"));
        Assert.Equal(0, f.GetInfo("empty").ByteLength);
    }

    [Fact]
    public void Out_of_order_wrong_length_and_incomplete_writes_are_refused()
    {
        using var dir = Fixtures.NewTempDir();
        var path = dir.File("w.safetensors");
        var specs = new List<TensorSpec> { new("a", DType.F32, [1]), new("b", DType.F32, [1]) };
        using (var w = SafetensorsWriter.Create(path, specs))
        {
            Assert.Contains("out of order", Assert.Throws<InvalidOperationException>(() => w.WriteTensor("b", new byte[4])).Message);
            Assert.Contains("5 bytes given, 4 expected", Assert.Throws<ArgumentException>(() => w.WriteTensor("a", new byte[5])).Message);
            w.WriteTensor("a", new byte[4]);
            Assert.Contains("incomplete: tensor 'b'", Assert.Throws<InvalidOperationException>(w.Complete).Message);
        }
        Assert.False(File.Exists(path)); // an incomplete file is not left behind
    }

    [Fact]
    public void Sharded_copy_of_a_fixture_reads_identically()
    {
        using var source = GlmCheckpoint.Open(Fixtures.GlmDir("glm52-tiny"));
        using var dir = Fixtures.NewTempDir();
        File.Copy(Path.Combine(Fixtures.GlmDir("glm52-tiny"), "config.json"), dir.File("config.json"));
        var names = source.Tensors.Keys.Order(StringComparer.Ordinal).ToList();
        var halves = new[] { names.Take(names.Count / 2).ToList(), names.Skip(names.Count / 2).ToList() };
        var map = new Dictionary<string, string>();
        for (int s = 0; s < 2; s++)
        {
            string file = $"model-0000{s + 1}-of-00002.safetensors";
            SafetensorsWriter.WriteFile(dir.File(file), halves[s].Select(n =>
            {
                var t = source.Tensors[n];
                return (new TensorSpec(n, t.DType, t.Shape), source.GetBytes(n).ToArray());
            }));
            foreach (var n in halves[s]) map[n] = file;
        }
        File.WriteAllText(dir.File(GlmCheckpoint.IndexFileName),
            System.Text.Json.JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = map }));
        using var sharded = GlmCheckpoint.Open(dir.Path);
        Assert.Equal(2, sharded.Files.Count);
        Assert.NotNull(sharded.IndexPath);
        foreach (var n in names)
        {
            Assert.True(source.GetBytes(n).SequenceEqual(sharded.GetBytes(n)), n);
            Assert.Equal(source.Tensors[n].Shape, sharded.Tensors[n].Shape);
        }
    }
}
