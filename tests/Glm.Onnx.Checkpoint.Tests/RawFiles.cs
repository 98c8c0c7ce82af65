using System.Text;

namespace Glm.Onnx.Checkpoint.Tests;

/// <summary>Builds safetensors files byte by byte, including broken ones the writer would refuse to produce.</summary>
internal static class RawFiles
{
    /// <summary>8-byte length (or <paramref name="declaredLength"/>), the header text, then <paramref name="dataBytes"/> zero bytes.</summary>
    public static void Write(string path, string header, long dataBytes, ulong? declaredLength = null)
    {
        var json = Encoding.UTF8.GetBytes(header);
        using var f = File.Create(path);
        f.Write(BitConverter.GetBytes(declaredLength ?? (ulong)json.Length));
        f.Write(json);
        f.Write(new byte[dataBytes]);
    }

    public static void WriteConfig(string dir) =>
        File.Copy(Path.Combine(Glm.Onnx.Tests.Fixtures.GlmDir("glm52-tiny"), "config.json"), Path.Combine(dir, "config.json"));
}
