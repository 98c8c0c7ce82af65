namespace Glm.Onnx.Converter.Graph;

/// <summary>
/// One stage of the split: decoder layers [FirstLayer, FirstLayer + LayerCount). <see cref="TakesPrevTopk"/> when the
/// first layer is an IndexShare "shared" layer (its selection comes from the previous stage);
/// <see cref="EmitsTopk"/> when the next stage starts with a shared layer. <see cref="EmitsFinalHidden"/>: the last
/// main stage of a model with an MTP layer also returns the hidden state after the final norm. <see cref="IsMtp"/>:
/// the MTP draft stage (layer num_hidden_layers), which follows the main stages (docs/architecture.md, "MTP").
/// </summary>
public sealed record StageSpec(int Index, int FirstLayer, int LayerCount, bool IsFirst, bool IsLast, bool TakesPrevTopk, bool EmitsTopk,
    bool EmitsFinalHidden = false, bool IsMtp = false)
{
    public int EndLayer => FirstLayer + LayerCount;

    public string FileName => $"{DataPrefix}.onnx";

    public string DataPrefix => IsMtp ? "stage-mtp" : $"stage-{Index:D2}";
}
