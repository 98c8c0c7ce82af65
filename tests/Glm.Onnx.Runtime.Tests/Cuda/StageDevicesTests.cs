using Glm.Onnx.Runtime;

namespace Glm.Onnx.Tests.Cuda;

/// <summary>Device specs: "cpu", "cuda", "cuda:N", and per-stage lists given as separate values or comma-separated.</summary>
public sealed class StageDevicesTests
{
    private static readonly StageDevice Cuda0 = new(true, 0);
    private static readonly StageDevice Cuda1 = new(true, 1);

    [Theory]
    [InlineData("cpu", false, 0)]
    [InlineData(" CPU ", false, 0)]
    [InlineData("cuda", true, 0)]
    [InlineData("cuda:0", true, 0)]
    [InlineData("CUDA:3", true, 3)]
    [InlineData("cuda:12", true, 12)]
    public void ParsesOneDevice(string text, bool cuda, int id)
    {
        var device = StageDevice.Parse(text);
        Assert.Equal(new StageDevice(cuda, id), device);
        Assert.Equal(cuda ? $"cuda:{id}" : "cpu", device.ToString());
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    [InlineData("cuda:+1")]
    [InlineData("cuda:0x1")]
    [InlineData("cuda:1:2")]
    [InlineData("")]
    public void RejectsMalformedDevices(string text)
    {
        var e = Assert.Throws<ArgumentException>(() => StageDevice.Parse(text));
        Assert.Contains($"'{text}'", e.Message);
        Assert.Contains("cuda:N", e.Message);
    }

    [Fact]
    public void NoSpecMeansEveryStageOnTheCpu()
    {
        Assert.Equal([StageDevice.Cpu, StageDevice.Cpu, StageDevice.Cpu], StageDevices.Resolve(null, 3));
        Assert.Equal([StageDevice.Cpu, StageDevice.Cpu], StageDevices.Resolve([], 2));
    }

    [Fact]
    public void OneSpecAppliesToEveryStage()
    {
        Assert.Equal([Cuda0, Cuda0, Cuda0], StageDevices.Resolve(["cuda:0"], 3));
        Assert.Equal([StageDevice.Cpu], StageDevices.Resolve(["cpu"], 1));
    }

    [Fact]
    public void PerStageListsAsSeparateValuesOrCommaSeparated()
    {
        Assert.Equal([Cuda0, Cuda1], StageDevices.Resolve(["cuda:0", "cuda:1"], 2));
        Assert.Equal([Cuda0, Cuda1], StageDevices.Resolve(["cuda:0,cuda:1"], 2));
        Assert.Equal([StageDevice.Cpu, Cuda1, Cuda0], StageDevices.Resolve(["cpu, cuda:1", "cuda:0"], 3));
    }

    [Fact]
    public void ACountThatFitsNeitherRuleNamesBoth()
    {
        var e = Assert.Throws<ArgumentException>(() => StageDevices.Resolve(["cuda:0,cuda:1"], 3));
        Assert.Contains("2 devices given (cuda:0,cuda:1) for 3 stages", e.Message);
    }

    [Fact]
    public void AnEmptyListEntryIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => StageDevices.Resolve(["cuda:0,,cuda:1"], 3));
        Assert.Contains("empty entry", e.Message);
    }
}
