using Glm.Onnx.Runtime.Execution;

namespace Glm.Onnx.Tests;

/// <summary>
/// The executor's reused step tensors: the same shape gives the same OrtValue with the new numbers in it, a new shape a
/// new value of that shape, and a source of the wrong length is refused before anything is copied.
/// </summary>
public sealed class ReusedTensorTests
{
    [Fact]
    public void SameShapeReusesTheValueWithTheNewNumbers()
    {
        using var tensor = new ReusedTensor<long>();
        var first = tensor.Fill([5L, 6L], 2);
        var second = tensor.Fill([7L, 8L], 2);
        Assert.Same(first, second);
        Assert.Equal([7L, 8L], second.GetTensorDataAsSpan<long>().ToArray());
        Assert.Equal([2L], second.GetTensorTypeAndShape().Shape);
    }

    [Fact]
    public void NewShapeMakesAValueOfThatShape()
    {
        using var tensor = new ReusedTensor<int>();
        var table = tensor.Fill([1, 2, 3, 4], 2, 2);
        Assert.Equal([2L, 2L], table.GetTensorTypeAndShape().Shape);
        var wider = tensor.Fill([1, 2, 3, 4, 5, 6], 2, 3);
        Assert.NotSame(table, wider);
        Assert.Equal([2L, 3L], wider.GetTensorTypeAndShape().Shape);
        Assert.Equal([1, 2, 3, 4, 5, 6], wider.GetTensorDataAsSpan<int>().ToArray());
        var narrower = tensor.Fill([9], 1, 1);
        Assert.Equal([1L, 1L], narrower.GetTensorTypeAndShape().Shape);
        Assert.Equal([9], narrower.GetTensorDataAsSpan<int>().ToArray());
    }

    [Fact]
    public void ZeroRowsStillHaveABuffer()
    {
        using var tensor = new ReusedTensor<float>();
        var empty = tensor.View(0, 16);
        Assert.Equal([0L, 16L], empty.GetTensorTypeAndShape().Shape);
        Assert.True(tensor.Array.Length >= 16);
    }

    [Fact]
    public void WrongLengthIsRefused()
    {
        using var tensor = new ReusedTensor<int>();
        var e = Assert.Throws<ArgumentException>(() => tensor.Fill([1, 2, 3], 2, 2));
        Assert.Contains("[2, 2]", e.Message);
        Assert.Contains("got 3", e.Message);
    }
}
