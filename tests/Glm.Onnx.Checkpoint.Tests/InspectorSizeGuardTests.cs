using System.Diagnostics;
using System.Text.Json.Nodes;
using Glm.Onnx.Checkpoint;
using Glm.Onnx.Tests;

namespace Glm.Onnx.Checkpoint.Tests;

/// <summary>
/// Issue #11 fix 5: a config.json whose sizes call for millions of tensors the weights do not hold is reported from
/// the headers, quickly and in bounded memory, instead of building the expected-tensor list.
/// </summary>
public sealed class InspectorSizeGuardTests
{
    /// <summary>glm52-tiny's weights under its config.json with <paramref name="field"/> replaced.</summary>
    private static TempDir TinyWith(string field, int value)
    {
        var dir = Fixtures.NewTempDir();
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.GlmDir("glm52-tiny"), "config.json")))!.AsObject();
        config[field] = value;
        File.WriteAllText(dir.File("config.json"), config.ToJsonString());
        File.Copy(Path.Combine(Fixtures.GlmDir("glm52-tiny"), "model.safetensors"), dir.File("model.safetensors"));
        return dir;
    }

    [Fact]
    public void A_million_routed_experts_is_a_clear_error_naming_the_router_and_the_field()
    {
        using var dir = TinyWith("n_routed_experts", 1_000_000);
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        var report = CheckpointInspector.Inspect(dir.Path);
        clock.Stop();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;

        Assert.False(report.IsComplete);
        var error = Assert.Single(report.Errors);
        // glm52-tiny: layer 0 is dense, layer 1 is the first MoE layer; its router holds 8 experts x hidden 64.
        Assert.Contains("model.layers.1.mlp.gate.weight", error);
        Assert.Contains("[8, 64]", error);
        Assert.Contains("n_routed_experts = 1000000", error);
        Assert.Contains("model.safetensors", error);
        Assert.Empty(report.MissingTensors);
        // 7 MoE layers x 1e6 experts x 3 x (32 x 64) routed parameters are still counted, arithmetically.
        Assert.True(report.ExpectedParameters > 7L * 1_000_000 * 3 * 32 * 64, $"expected parameters {report.ExpectedParameters}");
        // The full list would be 21 million names (gigabytes); the guard must stay far below that.
        Assert.True(allocated < 64L << 20, $"allocated {allocated:N0} bytes");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.Contains("n_routed_experts", InspectionText.Write(report));
    }

    [Fact]
    public void A_config_that_calls_for_far_more_tensors_than_stored_is_one_error_not_a_missing_list()
    {
        // 200,000 MTP layers: no router of theirs is stored, so only the tensor count can tell.
        using var dir = TinyWith("num_nextn_predict_layers", 200_000);
        var report = CheckpointInspector.Inspect(dir.Path);
        Assert.False(report.IsComplete);
        var error = Assert.Single(report.Errors);
        Assert.Contains("config.json implies", error);
        Assert.Contains("num_nextn_predict_layers", error);
        Assert.Empty(report.MissingTensors);
    }

    [Fact]
    public void A_few_missing_layers_are_still_listed_name_by_name()
    {
        // One MTP layer the weights lack: tens of tensors, well under the guard, so each is named.
        using var dir = TinyWith("num_nextn_predict_layers", 1);
        var report = CheckpointInspector.Inspect(dir.Path);
        Assert.Empty(report.Errors);
        Assert.Contains("model.layers.8.eh_proj.weight", report.MissingTensors);
        Assert.Contains("model.layers.8.mlp.experts.7.down_proj.weight", report.MissingTensors);
    }
}
