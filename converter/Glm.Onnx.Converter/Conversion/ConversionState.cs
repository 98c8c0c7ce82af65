using System.Text.Json;
using Glm.Onnx.Converter.Weights;

namespace Glm.Onnx.Converter.Conversion;

/// <summary>
/// Progress record of a conversion in its <c>.partial</c> directory: which stages are complete (with their files'
/// checksums) under which input fingerprint. A rerun with the same fingerprint keeps those stages after checking
/// their checksums; anything else is redone.
/// </summary>
public sealed record ConversionState(string Fingerprint, IReadOnlyList<CompletedStage> Stages)
{
    public const string FileName = "convert-state.json";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public static ConversionState? TryLoad(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<ConversionState>(File.ReadAllText(path), Json); }
        catch (JsonException) { return null; } // a torn write: treat as no progress
    }

    /// <summary>Writes atomically (temp file + rename) so an interruption never leaves a half-written state.</summary>
    public void Save(string directory)
    {
        var path = Path.Combine(directory, FileName);
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, JsonSerializer.Serialize(this, Json));
        File.Move(tmp, path, overwrite: true);
    }
}

/// <summary>
/// A finished stage: its files (graph and shards), the source bytes / tensors it consumed, and the other stages'
/// shards its shared initializers point into (the MTP stage's embedding and lm_head).
/// </summary>
public sealed record CompletedStage(int Index, IReadOnlyList<WrittenFile> Files, long SourceBytes, int Tensors,
    IReadOnlyList<string>? SharedDataFiles = null);
