using Glm.Onnx.Runtime;
using Glm.Onnx.Tests.Fakes;

namespace Glm.Onnx.Tests;

/// <summary>Loading checks every stage graph against the stage contract the manifest implies.</summary>
public sealed class StageContractCheckTests : IDisposable
{
    private readonly TempDir _dir = Fixtures.NewTempDir("rt-contract");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void AGraphWithoutPositionsIsRefusedNamingTheInput()
    {
        new TinyAttentionModel().Write(_dir.Path, declarePositions: false);
        var e = Assert.Throws<InvalidDataException>(() => GlmModel.Load(_dir.Path));
        Assert.Contains("stage-0.onnx", e.Message);
        Assert.Contains("lacks the contract inputs positions", e.Message);
    }

    [Fact]
    public void AManifestWhoseVocabularyDisagreesWithTheGraphIsRefusedWithBothShapes()
    {
        new TinyAttentionModel().Write(_dir.Path);
        var manifest = _dir.File("glm-model.json");
        var text = File.ReadAllText(manifest);
        Assert.Contains($"\"vocab_size\": {TinyAttentionModel.Vocab},", text);
        File.WriteAllText(manifest, text.Replace($"\"vocab_size\": {TinyAttentionModel.Vocab},", "\"vocab_size\": 17,"));

        var e = Assert.Throws<InvalidDataException>(() => GlmModel.Load(_dir.Path));
        Assert.Contains("output 'logits' has shape [N, 16]", e.Message);
        Assert.Contains("[num_logits, 17]", e.Message);
    }
}
