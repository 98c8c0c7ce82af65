namespace Glm.Onnx.Runtime;

/// <summary>
/// Turns the user's device specs into one <see cref="StageDevice"/> per stage. Each spec may itself be a
/// comma-separated list ("cpu,cuda:0"), so "--device cuda:0,cuda:1" and "--device cuda:0 cuda:1" mean the same.
/// </summary>
public static class StageDevices
{
    public static StageDevice[] Resolve(IReadOnlyList<string>? specs, int stageCount)
    {
        if (stageCount <= 0)
            throw new ArgumentOutOfRangeException(nameof(stageCount), stageCount, "a model has at least one stage");
        var devices = (specs ?? [])
            .SelectMany(s => (s ?? throw new ArgumentException("A device spec is null.")).Split(',', StringSplitOptions.TrimEntries))
            .Select(s => s.Length == 0
                ? throw new ArgumentException($"Device list '{string.Join(',', specs!)}' has an empty entry: expected 'cpu' or 'cuda:N' between commas.")
                : StageDevice.Parse(s))
            .ToArray();
        if (devices.Length == 0)
            return Enumerable.Repeat(StageDevice.Cpu, stageCount).ToArray();
        if (devices.Length == 1)
            return Enumerable.Repeat(devices[0], stageCount).ToArray();
        if (devices.Length != stageCount)
            throw new ArgumentException(
                $"{devices.Length} devices given ({string.Join(',', devices)}) for {stageCount} stages: give one for all stages or one per stage.");
        return devices;
    }
}
