namespace Glm.Onnx.Converter.Graph;

/// <summary>
/// One stage of the split: decoder layers [FirstLayer, FirstLayer + LayerCount). <see cref="TakesPrevTopk"/> when the
/// first layer is an IndexShare "shared" layer (its selection comes from the previous stage);
/// <see cref="EmitsTopk"/> when the next stage starts with a shared layer.
/// </summary>
public sealed record StageSpec(int Index, int FirstLayer, int LayerCount, bool IsFirst, bool IsLast, bool TakesPrevTopk, bool EmitsTopk)
{
    public int EndLayer => FirstLayer + LayerCount;

    public string FileName => $"stage-{Index:D2}.onnx";

    public string DataPrefix => $"stage-{Index:D2}";
}
