using Glm.Onnx.Runtime.Engine;

namespace Glm.Onnx.Tests;

public sealed class StopStringMatcherTests
{
    [Fact]
    public void TextThatMayBecomeAStopStringIsHeldBackAndAMatchIsCut()
    {
        var matcher = new StopStringMatcher(["END"]);
        Assert.Equal(("ab", false), matcher.Push("abE"));
        Assert.Equal(("", false), matcher.Push("N"));
        Assert.Equal(("", true), matcher.Push("Dxyz"));
    }

    [Fact]
    public void EndReleasesWhatWasHeldBackUnlessTheTailCompletesAStopString()
    {
        var open = new StopStringMatcher(["END"]);
        Assert.Equal(("x", false), open.Push("xEN"));
        Assert.Equal("ENq", open.End("q"));

        var closed = new StopStringMatcher(["END"]);
        Assert.Equal(("x", false), closed.Push("xEN"));
        Assert.Equal("", closed.End("Dtail"));

        var earlier = new StopStringMatcher(["END"]);
        Assert.Equal("ab", earlier.End("abENDcd"));
    }
}
