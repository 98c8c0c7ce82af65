using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.Contracts.Stages;
using Glm.Onnx.Converter.Conversion;
using Glm.Onnx.CustomOps;
using Microsoft.ML.OnnxRuntime;

namespace Glm.Onnx.Tests.Conversion;

/// <summary>The stage contract as docs/onnx-contract.md describes it, and the converter's graphs declaring exactly it.</summary>
public sealed class StageContractTests
{
    [Fact]
    public void AMiddleStageAcrossAnIndexShareCutHasTheDocumentedInputsAndOutputs()
    {
        var stage = new StageManifest
        {
            Index = 1, File = "stage-01.onnx", DataFiles = [], FirstLayer = 3, LayerCount = 3, EmbedsTokens = false,
            ProducesLogits = false, TakesPrevTopk = true, EmitsTopk = true, IndexLayers = [4], DeviceHint = "cpu",
        };
        var dimensions = new ModelDimensions { VocabSize = 300, HiddenSize = 64, NumHiddenLayers = 9, IndexTopK = 8, MaxPositionEmbeddings = 512 };
        var cache = new CacheLayout { BlockSize = 16, LatentWidth = 40, KvLoraRank = 32, QkRopeHeadDim = 8, IndexWidth = 16, DType = "float32", IndexLayers = [0, 4] };

        var contract = StageContract.For(stage, dimensions, cache);

        Assert.Equal(
            ["hidden_states float [num_tokens, 64]", "positions int64 [num_tokens]", "cumulative_sequence_lengths int32 [batch_plus_1]",
             "past_sequence_lengths int32 [batch]", "block_table int32 [batch, max_blocks]", "prev_topk_indices int32 [num_tokens, 8]",
             "latent_pool.3 float [num_blocks, block_size, 40]", "latent_pool.4 float [num_blocks, block_size, 40]",
             "index_pool.4 float [num_blocks, block_size, 16]", "latent_pool.5 float [num_blocks, block_size, 40]"],
            contract.Inputs.Select(t => t.ToString()));
        Assert.Equal(["hidden_states_out float [num_tokens, 64]", "topk_indices_out int32 [num_tokens, 8]"],
            contract.Outputs.Select(t => t.ToString()));
        Assert.All(contract.Inputs, t => Assert.False(t.Optional));
        Assert.Equal(["positions", "cumulative_sequence_lengths", "past_sequence_lengths", "block_table"],
            contract.Inputs.Where(t => t.Memory == StageMemory.Host).Select(t => t.Name));
        Assert.Equal([3, 4, 4, 5], contract.Pools.Select(p => p.Layer));
    }

    [Fact]
    public void TheLastStageTakesLogitsIndicesAndReturnsHostLogits()
    {
        var stage = new StageManifest
        {
            Index = 0, File = "stage-00.onnx", DataFiles = [], FirstLayer = 0, LayerCount = 1, EmbedsTokens = true,
            ProducesLogits = true, TakesPrevTopk = false, EmitsTopk = false, IndexLayers = [], DeviceHint = "cpu",
        };
        var dimensions = new ModelDimensions { VocabSize = 300, HiddenSize = 64, NumHiddenLayers = 1, IndexTopK = 8, MaxPositionEmbeddings = 512 };
        var cache = new CacheLayout { BlockSize = 16, LatentWidth = 40, KvLoraRank = 32, QkRopeHeadDim = 8, IndexWidth = 16, DType = "float32", IndexLayers = [] };

        var contract = StageContract.For(stage, dimensions, cache);

        Assert.Equal(["input_ids", "positions", "cumulative_sequence_lengths", "past_sequence_lengths", "block_table", "logits_indices", "latent_pool.0"],
            contract.Inputs.Select(t => t.Name));
        var logits = Assert.Single(contract.Outputs);
        Assert.Equal("logits float [num_logits, 300]", logits.ToString());
        Assert.Equal(StageMemory.Host, logits.Memory);
    }

    [Fact]
    public void TheMtpStageTakesTokensAndHiddenStatesAndReturnsLogitsHiddenAndItsSelection()
    {
        var stage = new StageManifest
        {
            Index = 2, File = "stage-mtp.onnx", DataFiles = [], FirstLayer = 8, LayerCount = 1, EmbedsTokens = true,
            ProducesLogits = true, TakesPrevTopk = false, EmitsTopk = false, IndexLayers = [8], DeviceHint = "cpu", IsMtp = true,
        };
        var dimensions = new ModelDimensions { VocabSize = 300, HiddenSize = 64, NumHiddenLayers = 8, IndexTopK = 8, MaxPositionEmbeddings = 512 };
        var cache = new CacheLayout
        {
            BlockSize = 16, LatentWidth = 40, KvLoraRank = 32, QkRopeHeadDim = 8, IndexWidth = 16, DType = "float32", IndexLayers = [0, 8], MtpLayers = [8],
        };

        var contract = StageContract.For(stage, dimensions, cache);

        Assert.Equal(
            ["input_ids int64 [num_tokens]", "hidden_states float [num_tokens, 64]", "positions int64 [num_tokens]",
             "cumulative_sequence_lengths int32 [batch_plus_1]", "past_sequence_lengths int32 [batch]", "block_table int32 [batch, max_blocks]",
             "logits_indices int64 [num_logits]", "prev_topk_indices int32 [prev_topk_rows, 8]",
             "latent_pool.8 float [num_blocks, block_size, 40]", "index_pool.8 float [num_blocks, block_size, 16]"],
            contract.Inputs.Select(t => t.ToString()));
        Assert.Equal(["logits float [num_logits, 300]", "final_hidden float [num_logits, 64]", "topk_indices_out int32 [num_tokens, 8]"],
            contract.Outputs.Select(t => t.ToString()));
        Assert.All(contract.Outputs, t => Assert.Equal(StageMemory.Host, t.Memory));
    }

    [Fact]
    public void TheLastStageOfAModelWithMtpAlsoReturnsFinalHidden()
    {
        var stage = new StageManifest
        {
            Index = 1, File = "stage-01.onnx", DataFiles = [], FirstLayer = 4, LayerCount = 4, EmbedsTokens = false,
            ProducesLogits = true, TakesPrevTopk = false, EmitsTopk = false, IndexLayers = [6], DeviceHint = "cpu", EmitsFinalHidden = true,
        };
        var dimensions = new ModelDimensions { VocabSize = 300, HiddenSize = 64, NumHiddenLayers = 8, IndexTopK = 8, MaxPositionEmbeddings = 512 };
        var cache = new CacheLayout { BlockSize = 16, LatentWidth = 40, KvLoraRank = 32, QkRopeHeadDim = 8, IndexWidth = 16, DType = "float32", IndexLayers = [0, 6, 8] };

        var contract = StageContract.For(stage, dimensions, cache);

        Assert.Equal(["logits float [num_logits, 300]", "final_hidden float [num_logits, 64]"], contract.Outputs.Select(t => t.ToString()));
        Assert.Equal(StageMemory.Host, contract.Outputs[1].Memory);
    }

    /// <summary>Every converted stage (and the MTP stage) declares the contract of its manifest entry: same inputs and outputs, in order.</summary>
    [Theory]
    [InlineData("glm52-tiny")]
    [InlineData("glm52-tiny-mtp")]
    public void ConvertedGraphsDeclareExactlyTheirContract(string fixture)
    {
        using var dir = Fixtures.NewTempDir("glm-contract");
        ModelConverter.Convert(new ConvertOptions(Fixtures.GlmDir(fixture), dir.File("out")) { StageLayers = [1, 3, 4] }, SilentProgress.Instance);
        var manifest = ModelManifestJson.Load(dir.File("out"));
        Assert.Contains(manifest.Stages, s => s.TakesPrevTopk);
        Assert.Equal(fixture.EndsWith("-mtp", StringComparison.Ordinal), manifest.MtpStage is not null);
        foreach (var stage in manifest.MtpStage is { } mtp ? [.. manifest.Stages, mtp] : manifest.Stages)
        {
            var contract = StageContract.For(stage, manifest.Dimensions, manifest.Cache);
            using var options = new SessionOptions();
            GlmCustomOps.Register(options);
            using var session = new InferenceSession(dir.File("out/" + stage.File), options);
            Assert.Equal(contract.Inputs.Select(t => t.Name), session.InputNames);
            Assert.Equal(contract.Outputs.Select(t => t.Name), session.OutputNames);
            foreach (var tensor in contract.Inputs.Select(t => (t, session.InputMetadata[t.Name]))
                         .Concat(contract.Outputs.Select(t => (t, session.OutputMetadata[t.Name]))))
            {
                var (expected, actual) = tensor;
                Assert.Equal((int)expected.ElementType, (int)actual.ElementDataType);
                Assert.Equal(expected.Shape.Select(d => d.Symbol ?? ""), actual.SymbolicDimensions);
                Assert.Equal(expected.Shape.Select(d => d.IsSymbolic ? -1 : (int)d.Value), actual.Dimensions);
            }
        }
    }
}
