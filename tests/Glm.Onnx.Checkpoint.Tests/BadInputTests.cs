using Glm.Onnx.Checkpoint;
using Glm.Onnx.Tests;

namespace Glm.Onnx.Checkpoint.Tests;

/// <summary>Every malformed-input case fails with an error naming the file and, where one is involved, the tensor.</summary>
public sealed class BadInputTests
{
    private static CheckpointFormatException OpenFails(string path) =>
        Assert.Throws<CheckpointFormatException>(() => SafetensorsFile.Open(path).Dispose());

    [Fact]
    public void Truncated_file()
    {
        using var dir = Fixtures.NewTempDir();
        var path = dir.File("t.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        var e = OpenFails(path);
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated file: expected at least 8 bytes", e.Message);
    }

    [Fact]
    public void Header_length_beyond_the_file()
    {
        using var dir = Fixtures.NewTempDir();
        var path = dir.File("t.safetensors");
        RawFiles.Write(path, "{}", 0, declaredLength: 5000);
        var e = OpenFails(path);
        Assert.Contains(path, e.Message);
        Assert.Contains("header length 5000 bytes runs beyond the end of the file", e.Message);
    }

    [Fact]
    public void Oversized_header()
    {
        using var dir = Fixtures.NewTempDir();
        var path = dir.File("t.safetensors");
        RawFiles.Write(path, "{}", 0, declaredLength: 200_000_000);
        var e = OpenFails(path);
        Assert.Contains(path, e.Message);
        Assert.Contains("exceeds the limit of 100000000 bytes", e.Message);
    }

    [Theory]
    [InlineData("""{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]""")]
    [InlineData("""not json at all""")]
    [InlineData("""[1, 2]""")]
    public void Malformed_header_json(string header)
    {
        using var dir = Fixtures.NewTempDir();
        var path = dir.File("t.safetensors");
        RawFiles.Write(path, header, 4);
        var e = OpenFails(path);
        Assert.Contains(path, e.Message);
        Assert.True(e.Message.Contains("malformed header JSON") || e.Message.Contains("expected the header to be a JSON object"), e.Message);
    }

    [Fact]
    public void Offsets_out_of_range()
    {
        using var dir = Fixtures.NewTempDir();
        var path = dir.File("t.safetensors");
        RawFiles.Write(path, """{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}""", 8);
        var e = OpenFails(path);
        Assert.Equal("w", e.TensorName);
        Assert.Contains($"{path}: tensor 'w': data_offsets [0, 16] out of range: the data section holds 8 bytes", e.Message);
    }

    [Fact]
    public void Offsets_reversed()
    {
        using var dir = Fixtures.NewTempDir();
        var path = dir.File("t.safetensors");
        RawFiles.Write(path, """{"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}}""", 8);
        var e = OpenFails(path);
        Assert.Equal("w", e.TensorName);
        Assert.Contains("invalid data_offsets [8, 4]", e.Message);
    }

    [Fact]
    public void Overlapping_offsets()
    {
        using var dir = Fixtures.NewTempDir();
        var path = dir.File("t.safetensors");
        RawFiles.Write(path, """
            {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
             "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}
            """, 12);
        var e = OpenFails(path);
        Assert.Equal("b", e.TensorName);
        Assert.Contains("overlap tensor 'a'", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Byte_length_not_matching_dtype_and_shape()
    {
        using var dir = Fixtures.NewTempDir();
        var path = dir.File("t.safetensors");
        RawFiles.Write(path, """{"w": {"dtype": "BF16", "shape": [3, 2], "data_offsets": [0, 8]}}""", 8);
        var e = OpenFails(path);
        Assert.Equal("w", e.TensorName);
        Assert.Contains("byte length 8 does not match dtype x shape: BF16 [3, 2] needs 12 bytes", e.Message);
    }

    [Fact]
    public void Unknown_dtype()
    {
        using var dir = Fixtures.NewTempDir();
        var path = dir.File("t.safetensors");
        RawFiles.Write(path, """{"w": {"dtype": "F8_E5M2", "shape": [4], "data_offsets": [0, 4]}}""", 4);
        var e = OpenFails(path);
        Assert.Equal("w", e.TensorName);
        Assert.Contains("unknown dtype 'F8_E5M2'", e.Message);
    }

    [Fact]
    public void Duplicate_names()
    {
        using var dir = Fixtures.NewTempDir();
        var path = dir.File("t.safetensors");
        RawFiles.Write(path, """
            {"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
             "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}
            """, 8);
        var e = OpenFails(path);
        Assert.Equal("w", e.TensorName);
        Assert.Contains("duplicate tensor name", e.Message);
    }

    [Fact]
    public void Missing_field_in_an_entry()
    {
        using var dir = Fixtures.NewTempDir();
        var path = dir.File("t.safetensors");
        RawFiles.Write(path, """{"w": {"dtype": "F32", "data_offsets": [0, 4]}}""", 4);
        var e = OpenFails(path);
        Assert.Equal("w", e.TensorName);
        Assert.Contains("missing field 'shape'", e.Message);
    }

    private static void WriteShard(string path, params string[] names) =>
        SafetensorsWriter.WriteFile(path, names.Select(n => (new TensorSpec(n, DType.F32, [2]), new byte[8])));

    [Fact]
    public void Shard_named_by_the_index_is_missing()
    {
        using var dir = Fixtures.NewTempDir();
        RawFiles.WriteConfig(dir.Path);
        WriteShard(dir.File("model-00001-of-00002.safetensors"), "a");
        File.WriteAllText(dir.File(GlmCheckpoint.IndexFileName), """
            {"metadata": {"total_size": 16}, "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
            """);
        var e = Assert.Throws<CheckpointFormatException>(() => GlmCheckpoint.Open(dir.Path).Dispose());
        Assert.Contains(GlmCheckpoint.IndexFileName, e.Message);
        Assert.Contains("shard 'model-00002-of-00002.safetensors' named by the index is missing", e.Message);
        Assert.Equal("weight_map.b", e.FieldName);
    }

    [Fact]
    public void Tensor_promised_by_the_index_is_absent_from_its_shard()
    {
        using var dir = Fixtures.NewTempDir();
        RawFiles.WriteConfig(dir.Path);
        WriteShard(dir.File("model-00001-of-00002.safetensors"), "a");
        WriteShard(dir.File("model-00002-of-00002.safetensors"), "b");
        File.WriteAllText(dir.File(GlmCheckpoint.IndexFileName), """
            {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"}}
            """);
        var e = Assert.Throws<CheckpointFormatException>(() => GlmCheckpoint.Open(dir.Path).Dispose());
        Assert.Equal("c", e.TensorName);
        Assert.Contains("model-00002-of-00002.safetensors", e.Message);
        Assert.Contains("the shard does not hold it", e.Message);
    }

    [Fact]
    public void Tensor_in_a_shard_but_not_in_the_index()
    {
        using var dir = Fixtures.NewTempDir();
        RawFiles.WriteConfig(dir.Path);
        WriteShard(dir.File("model-00001-of-00001.safetensors"), "a", "stray");
        File.WriteAllText(dir.File(GlmCheckpoint.IndexFileName), """{"weight_map": {"a": "model-00001-of-00001.safetensors"}}""");
        var e = Assert.Throws<CheckpointFormatException>(() => GlmCheckpoint.Open(dir.Path).Dispose());
        Assert.Equal("stray", e.TensorName);
        Assert.Contains("not listed in the index", e.Message);
    }

    [Fact]
    public void Bad_shard_header_names_the_shard()
    {
        using var dir = Fixtures.NewTempDir();
        RawFiles.WriteConfig(dir.Path);
        var shard = dir.File("model-00001-of-00001.safetensors");
        RawFiles.Write(shard, """{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}""", 4);
        File.WriteAllText(dir.File(GlmCheckpoint.IndexFileName), """{"weight_map": {"a": "model-00001-of-00001.safetensors"}}""");
        var e = Assert.Throws<CheckpointFormatException>(() => GlmCheckpoint.Open(dir.Path).Dispose());
        Assert.Equal(shard, e.FilePath);
        Assert.Equal("a", e.TensorName);
    }

    [Fact]
    public void Directory_without_weights()
    {
        using var dir = Fixtures.NewTempDir();
        RawFiles.WriteConfig(dir.Path);
        var e = Assert.Throws<CheckpointFormatException>(() => GlmCheckpoint.Open(dir.Path).Dispose());
        Assert.Contains("no weights: expected model.safetensors or model.safetensors.index.json", e.Message);
    }

    [Fact]
    public void Unknown_tensor_name_is_named()
    {
        using var ckpt = GlmCheckpoint.Open(Fixtures.GlmDir("glm52-tiny"));
        var e = Assert.Throws<KeyNotFoundException>(() => ckpt.GetInfo("model.layers.99.nope"));
        Assert.Contains("model.layers.99.nope", e.Message);
    }

    [Fact]
    public void Tensor_name_that_is_not_utf8_is_a_named_error()
    {
        // {"a\xFF": {...}}: 0xFF never occurs in UTF-8.
        byte[] header = [.. "{\"a"u8, 0xFF, .. "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"u8];
        using var dir = Fixtures.NewTempDir();
        var path = dir.File("t.safetensors");
        using (var f = File.Create(path))
        {
            f.Write(BitConverter.GetBytes((ulong)header.Length));
            f.Write(header);
            f.Write(new byte[4]);
        }

        var e = OpenFails(path);
        Assert.Contains(path, e.Message);
        Assert.Contains("not valid UTF-8", e.Message);
    }
}
