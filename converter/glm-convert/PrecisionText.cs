using Glm.Onnx.Contracts.Manifest;

namespace Glm.Onnx.ConvertCli;

/// <summary>The manifest's per-part precisions as text lines (inspect and verify print them).</summary>
public static class PrecisionText
{
    public static string Write(ModelManifest manifest)
    {
        var p = manifest.Precision;
        var lines = new List<string> { $"precision {p.Target}: embedding {p.Embedding}, norms {p.Norms}" };
        foreach (var part in p.Parts ?? [])
        {
            lines.Add($"  {part.Part,-10} {part.Format,-22} {part.Op}" +
                      (part.GroupSize is { } g ? $", group {g}" : "") + (part.AccuracyLevel is { } a ? $", accuracy_level {a}" : ""));
            if (part.Absorbed is { } m)
                lines.Add($"    W_UK/W_UV {m.Format,-22} {m.Op} (grouped per head)" + (m.GroupSize is { } mg ? $", group {mg}" : "") +
                          (m.BlockSize is { } mb ? $", {mb}x{mb} blocks" : ""));
        }
        if (p.Parts is null)
            lines.Add($"  linear {p.Linear}, experts {p.Experts}, lm_head {p.LmHead}");
        return string.Join('\n', lines) + "\n";
    }
}
