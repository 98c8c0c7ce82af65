using System.Text.Json.Nodes;
using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.Runtime;
using Glm.Onnx.Runtime.Cache;

namespace Glm.Onnx.Tests;

/// <summary>A manifest whose vocab / hidden sizes disagree with the stage graphs is refused at load, naming the field.</summary>
public sealed class ManifestShapeTests(ConvertedFixtures converted) : IClassFixture<ConvertedFixtures>
{
    [Theory]
    [InlineData("vocab_size", 500)]
    [InlineData("hidden_size", 48)]
    public void MismatchedDimensionIsAnInvalidDataErrorAtLoad(string field, int value)
    {
        // glm52-tiny converts to three stages, so hidden_states crosses stage boundaries.
        using var dir = Fixtures.NewTempDir("bad-dims");
        foreach (var file in Directory.GetFiles(converted.Artifacts("glm52-tiny")))
            File.Copy(file, Path.Combine(dir.Path, Path.GetFileName(file)));
        var manifestPath = Path.Combine(dir.Path, ModelManifest.FileName);
        var json = JsonNode.Parse(File.ReadAllText(manifestPath))!;
        json["dimensions"]![field] = value;
        File.WriteAllText(manifestPath, json.ToJsonString());

        var e = Assert.Throws<InvalidDataException>(() =>
            GlmModel.Load(dir.Path, new GlmModelOptions(Cache: new KvCacheOptions(NumBlocks: 8, BlockSize: 4), IntraOpThreads: 1)).Dispose());
        Assert.Contains($"dimensions.{field} is {value}", e.Message);
    }
}
