using System.Globalization;

namespace Glm.Onnx.Runtime;

/// <summary>Where a stage runs: the CPU or CUDA device N.</summary>
public readonly record struct StageDevice(bool IsCuda, int DeviceId)
{
    public static StageDevice Cpu { get; } = new(false, 0);

    public static StageDevice Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var value = text.Trim().ToLowerInvariant();
        if (value == "cpu")
            return Cpu;
        if (value == "cuda")
            return new StageDevice(true, 0);
        if (value.StartsWith("cuda:", StringComparison.Ordinal) &&
            int.TryParse(value.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out int id))
            return new StageDevice(true, id);
        throw new ArgumentException($"Device '{text}' is not recognised: expected 'cpu', 'cuda' or 'cuda:N'.");
    }

    public override string ToString() => IsCuda ? $"cuda:{DeviceId}" : "cpu";
}
