using Glm.Onnx.Converter.Graph;

namespace Glm.Onnx.Converter.Conversion;

/// <summary>Receives progress from a conversion (a terminal bar, plain log lines, or nothing in tests).</summary>
public interface IConversionProgress
{
    /// <summary>Conversion starts: the checkpoint bytes and tensors it will read in total.</summary>
    void Start(long totalBytes, int totalTensors);

    /// <summary>A stage from an interrupted run was verified by checksum and kept.</summary>
    void StageKept(StageSpec stage, long sourceBytes, int tensors);

    void StageStarted(StageSpec stage);

    /// <summary>One source tensor has been converted and written.</summary>
    void TensorDone(string name, long sourceBytes);

    void StageFinished(StageSpec stage, IReadOnlyList<string> files);

    void Message(string text);
}

/// <summary>Progress that goes nowhere.</summary>
public sealed class SilentProgress : IConversionProgress
{
    public static SilentProgress Instance { get; } = new();
    public void Start(long totalBytes, int totalTensors) { }
    public void StageKept(StageSpec stage, long sourceBytes, int tensors) { }
    public void StageStarted(StageSpec stage) { }
    public void TensorDone(string name, long sourceBytes) { }
    public void StageFinished(StageSpec stage, IReadOnlyList<string> files) { }
    public void Message(string text) { }
}
