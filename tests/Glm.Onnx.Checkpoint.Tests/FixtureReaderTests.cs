using System.Buffers.Binary;
using System.Text.Json;
using Glm.Onnx.Checkpoint;
using Glm.Onnx.Tests;

namespace Glm.Onnx.Checkpoint.Tests;

public sealed class FixtureReaderTests
{
    public static TheoryData<string> Names => new(Fixtures.GlmNames);

    [Theory]
    [MemberData(nameof(Names))]
    public void Opens_every_fixture_with_the_tensors_reference_json_lists(string name)
    {
        using var ckpt = GlmCheckpoint.Open(Fixtures.GlmDir(name));
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.GlmDir(name), "reference.json")));
        if (doc.RootElement.TryGetProperty("keys_on_disk", out var keys))
        {
            var expected = keys.EnumerateArray().Select(k => k.GetString()!).OrderBy(k => k, StringComparer.Ordinal);
            Assert.Equal(expected, ckpt.Tensors.Keys.OrderBy(k => k, StringComparer.Ordinal));
        }
        Assert.Equal(name == "glm52-grouped", ckpt.Config.TieWordEmbeddings);
    }

    [Fact]
    public void Bf16_tensor_decodes_as_the_upper_half_of_float32()
    {
        using var ckpt = GlmCheckpoint.Open(Fixtures.GlmDir("glm52-tiny"));
        const string name = "model.layers.0.self_attn.q_a_proj.weight";
        var info = ckpt.GetInfo(name);
        Assert.Equal(DType.BF16, info.DType);
        Assert.Equal(new long[] { 48, 64 }, info.Shape);
        var raw = ckpt.GetBytes(name).ToArray();
        var values = ckpt.ReadFloat32(name);
        Assert.Equal(48 * 64, values.Length);
        for (int i = 0; i < values.Length; i++)
        {
            int bits = BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(2 * i)) << 16;
            Assert.Equal(BitConverter.Int32BitsToSingle(bits), values[i]);
        }
        // Ranged float access equals the same slice of the whole.
        var part = new float[100];
        ckpt.CopyAsFloat32(name, part, 1000);
        Assert.Equal(values.AsSpan(1000, 100).ToArray(), part);
    }

    [Fact]
    public void Reference_file_reads_f32_i32_and_i64()
    {
        using var file = SafetensorsFile.Open(Path.Combine(Fixtures.GlmDir("glm52-tiny"), "reference.safetensors"));
        var ids = file.GetInfo("short.input_ids");
        Assert.Equal(DType.I64, ids.DType);
        var idBytes = file.GetBytes("short.input_ids");
        var idFloats = file.ReadFloat32("short.input_ids");
        for (int i = 0; i < idFloats.Length; i++)
            Assert.Equal(BinaryPrimitives.ReadInt64LittleEndian(idBytes[(8 * i)..]), (long)idFloats[i]);

        var logits = file.GetInfo("short.prefill_logits");
        Assert.Equal(DType.F32, logits.DType);
        var lBytes = file.GetBytes("short.prefill_logits");
        var lFloats = file.ReadFloat32("short.prefill_logits");
        Assert.Equal(BinaryPrimitives.ReadSingleLittleEndian(lBytes[(4 * 17)..]), lFloats[17]);

        var topk = file.Tensors.Values.First(t => t.DType == DType.I32);
        var tBytes = file.GetBytes(topk.Name);
        var tFloats = file.ReadFloat32(topk.Name);
        for (int i = 0; i < tFloats.Length; i++)
            Assert.Equal(BinaryPrimitives.ReadInt32LittleEndian(tBytes[(4 * i)..]), (int)tFloats[i]);
    }

    [Fact]
    public void Fp8_fixture_dequantises_with_its_block_scale()
    {
        using var ckpt = GlmCheckpoint.Open(Fixtures.GlmDir("glm52-tiny-fp8"));
        const string name = "model.layers.0.self_attn.q_a_proj.weight";
        Assert.Equal(DType.F8_E4M3, ckpt.GetInfo(name).DType);
        Assert.Equal(DType.F32, ckpt.GetInfo(name + "_scale_inv").DType);
        Assert.NotNull(ckpt.Config.Quantization);
        Assert.Equal(128, ckpt.Config.Quantization!.BlockRows);
        var codes = ckpt.GetBytes(name).ToArray();
        var values = ckpt.ReadFloat32(name);
        for (int i = 0; i < codes.Length; i++)
            Assert.Equal(ReferenceE4M3(codes[i]), values[i]);
        Assert.Contains(values, v => v != 0);
    }

    /// <summary>Plain e4m3fn decode straight from the format definition (sign, 4-bit exponent bias 7, 3-bit mantissa).</summary>
    internal static float ReferenceE4M3(byte code)
    {
        int s = code >> 7, e = (code >> 3) & 15, m = code & 7;
        if (e == 15 && m == 7) return float.NaN;
        double v = e == 0 ? m / 8.0 * Math.Pow(2, -6) : (1 + m / 8.0) * Math.Pow(2, e - 7);
        return (float)(s == 1 ? -v : v);
    }
}
