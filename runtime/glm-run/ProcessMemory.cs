using System.Globalization;

namespace Glm.Onnx.RunCli;

/// <summary>
/// Resident memory of this process from /proc/self/status (Linux): VmRSS (now) and VmHWM (peak), in bytes; null
/// where the file or a field is absent (other systems).
/// </summary>
public sealed record ProcessMemory(long? RssBytes, long? PeakRssBytes)
{
    public static ProcessMemory Read()
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path)) return new ProcessMemory(null, null);
        long? rss = null, hwm = null;
        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kib(line);
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) hwm = Kib(line);
        }
        return new ProcessMemory(rss, hwm);
    }

    // "VmRSS:     123456 kB"
    private static long? Kib(string line)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v * 1024 : null;
    }
}
