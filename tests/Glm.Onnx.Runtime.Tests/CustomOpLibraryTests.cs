using Glm.Onnx.Contracts;
using Glm.Onnx.CustomOps;
using Microsoft.ML.OnnxRuntime;

namespace Glm.Onnx.Tests;

public sealed class CustomOpLibraryTests
{
    [Fact]
    public void NativeLibraryRegistersTheDomainAndOpsTheContractsName()
    {
        var description = GlmCustomOps.Describe();

        Assert.Equal(CustomOpNames.Domain, description.Domain);
        Assert.Equal(CustomOpNames.DomainVersion, description.Version);
        Assert.Equal(CustomOpNames.All, description.OpNames);
    }

    [Fact]
    public void LibraryRegistersWithAnOnnxRuntimeSession()
    {
        using var options = new SessionOptions();
        GlmCustomOps.Register(options);
    }
}
