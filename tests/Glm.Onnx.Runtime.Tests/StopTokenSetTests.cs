using Glm.Onnx.Runtime.Engine;

namespace Glm.Onnx.Tests;

public sealed class StopTokenSetTests
{
    [Fact]
    public void TheModelsEosIdsCountUnlessIgnoredAndTheRequestsOwnIdsAlwaysCount()
    {
        var normal = new StopTokenSet([2, 3], new GenerationRequest([1]) { StopTokenIds = [7] });
        Assert.Equal([false, true, true, false, true], new[] { 1, 2, 3, 4, 7 }.Select(normal.Ends));
        var ignoring = new StopTokenSet([2, 3], new GenerationRequest([1]) { StopTokenIds = [7], IgnoreEos = true });
        Assert.Equal([false, false, false, false, true], new[] { 1, 2, 3, 4, 7 }.Select(ignoring.Ends));
    }
}
