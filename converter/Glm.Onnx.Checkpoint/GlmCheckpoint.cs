using System.Text.Json;

namespace Glm.Onnx.Checkpoint;

/// <summary>
/// A Hugging Face checkpoint directory: config.json plus either one <c>model.safetensors</c> or shards listed by
/// <c>model.safetensors.index.json</c> (<c>{"metadata": {...}, "weight_map": {tensor: shard file}}</c>).
/// Opening reads the config and every header only; tensor data is memory-mapped per file on first access.
/// (Named GlmCheckpoint, not Checkpoint, so it does not collide with the Glm.Onnx.Checkpoint namespace.)
/// Spans returned point into the mapping and are valid until <see cref="Dispose"/>.
/// </summary>
public sealed class GlmCheckpoint : IDisposable
{
    /// <summary>The single-file weights name.</summary>
    public const string SingleFileName = "model.safetensors";
    /// <summary>The shard index name.</summary>
    public const string IndexFileName = "model.safetensors.index.json";
    /// <summary>The config name.</summary>
    public const string ConfigFileName = "config.json";

    private readonly Dictionary<string, SafetensorsFile> _fileOf;

    private GlmCheckpoint(string directory, GlmConfig config, IReadOnlyList<SafetensorsFile> files,
        Dictionary<string, SafetensorsFile> fileOf, string? indexPath)
    {
        Directory = directory;
        Config = config;
        Files = files;
        _fileOf = fileOf;
        IndexPath = indexPath;
        Tensors = fileOf.ToDictionary(kv => kv.Key, kv => kv.Value.Tensors[kv.Key], StringComparer.Ordinal);
    }

    /// <summary>Full path of the checkpoint directory.</summary>
    public string Directory { get; }

    /// <summary>The validated config.</summary>
    public GlmConfig Config { get; }

    /// <summary>The safetensors files (one, or the shards in index order of first appearance).</summary>
    public IReadOnlyList<SafetensorsFile> Files { get; }

    /// <summary>Path of model.safetensors.index.json, or null for a single-file checkpoint.</summary>
    public string? IndexPath { get; }

    /// <summary>Every tensor of the checkpoint by name (each <see cref="TensorInfo.FilePath"/> says which file holds it).</summary>
    public IReadOnlyDictionary<string, TensorInfo> Tensors { get; }

    /// <summary>
    /// Opens <paramref name="directory"/>: loads and validates config.json, then the weights headers (sharded when an
    /// index is present, else model.safetensors).
    /// </summary>
    /// <exception cref="CheckpointFormatException">Invalid config, header, or index; a missing shard; a tensor the index promises that its shard lacks.</exception>
    public static GlmCheckpoint Open(string directory)
    {
        directory = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(directory)) throw new DirectoryNotFoundException($"{directory}: checkpoint directory not found");
        var config = GlmConfig.Load(Path.Combine(directory, ConfigFileName));
        var (files, fileOf, indexPath) = OpenWeights(directory);
        return new GlmCheckpoint(directory, config, files, fileOf, indexPath);
    }

    /// <summary>
    /// Opens only the weights of <paramref name="directory"/> (no config): for tools that must report on a checkpoint
    /// whose config is broken. The caller owns the returned files.
    /// </summary>
    public static (IReadOnlyList<SafetensorsFile> Files, IReadOnlyDictionary<string, TensorInfo> Tensors, string? IndexPath) OpenWeightsOnly(string directory)
    {
        directory = Path.GetFullPath(directory);
        var (files, fileOf, indexPath) = OpenWeights(directory);
        return (files, fileOf.ToDictionary(kv => kv.Key, kv => kv.Value.Tensors[kv.Key], StringComparer.Ordinal), indexPath);
    }

    /// <summary>The header entry of <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor (the message names the directory and tensor).</exception>
    public TensorInfo GetInfo(string name) =>
        Tensors.TryGetValue(name, out var info) ? info : throw new KeyNotFoundException($"{Directory}: tensor '{name}' not found in the checkpoint");

    /// <summary>True when the checkpoint holds <paramref name="name"/>.</summary>
    public bool Contains(string name) => _fileOf.ContainsKey(name);

    /// <summary>The file that holds <paramref name="name"/>, for ranged or float32 access.</summary>
    public SafetensorsFile FileOf(string name) =>
        _fileOf.TryGetValue(name, out var file) ? file : throw new KeyNotFoundException($"{Directory}: tensor '{name}' not found in the checkpoint");

    /// <summary>All bytes of a tensor under 2 GiB (see <see cref="SafetensorsFile.GetBytes(string)"/>).</summary>
    public ReadOnlySpan<byte> GetBytes(string name) => FileOf(name).GetBytes(name);

    /// <summary>Elements of a tensor converted to float32 (see <see cref="SafetensorsFile.CopyAsFloat32"/>).</summary>
    public void CopyAsFloat32(string name, Span<float> dest, long firstElement = 0) => FileOf(name).CopyAsFloat32(name, dest, firstElement);

    /// <summary>A whole tensor as float32.</summary>
    public float[] ReadFloat32(string name) => FileOf(name).ReadFloat32(name);

    /// <summary>Unmaps every file.</summary>
    public void Dispose()
    {
        foreach (var f in Files) f.Dispose();
    }

    private static (List<SafetensorsFile>, Dictionary<string, SafetensorsFile>, string?) OpenWeights(string directory)
    {
        string indexPath = Path.Combine(directory, IndexFileName);
        string singlePath = Path.Combine(directory, SingleFileName);
        var files = new List<SafetensorsFile>();
        var fileOf = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        try
        {
            if (File.Exists(indexPath))
            {
                var weightMap = ReadWeightMap(indexPath);
                var byShard = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
                foreach (var (tensor, shard) in weightMap)
                {
                    if (!byShard.TryGetValue(shard, out var file))
                    {
                        string shardPath = Path.Combine(directory, shard);
                        if (!File.Exists(shardPath))
                            throw CheckpointFormatException.ForField(indexPath, $"weight_map.{tensor}",
                                $"shard '{shard}' named by the index is missing: expected file {shardPath}");
                        file = SafetensorsFile.Open(shardPath);
                        files.Add(file);
                        byShard.Add(shard, file);
                    }
                    if (!file.Tensors.ContainsKey(tensor))
                        throw new CheckpointFormatException(file.FilePath, tensor,
                            $"the index {indexPath} places this tensor in shard '{shard}', but the shard does not hold it");
                    fileOf.Add(tensor, file);
                }
                foreach (var file in files)
                    foreach (var name in file.Tensors.Keys)
                        if (!fileOf.TryGetValue(name, out var owner) || owner != file)
                            throw new CheckpointFormatException(file.FilePath, name,
                                owner is null
                                    ? $"present in the shard but not listed in the index {indexPath}"
                                    : $"present in the shard but the index {indexPath} places it in {Path.GetFileName(owner.FilePath)}");
                return (files, fileOf, indexPath);
            }
            if (!File.Exists(singlePath))
                throw new CheckpointFormatException(directory, null, $"no weights: expected {SingleFileName} or {IndexFileName}");
            var single = SafetensorsFile.Open(singlePath);
            files.Add(single);
            foreach (var name in single.Tensors.Keys) fileOf.Add(name, single);
            return (files, fileOf, null);
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
    }

    /// <summary>Reads the index's weight_map in file order, rejecting duplicates and non-string entries.</summary>
    private static List<(string Tensor, string Shard)> ReadWeightMap(string indexPath)
    {
        var bytes = File.ReadAllBytes(indexPath);
        var result = new List<(string, string)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("weight_map", out var map))
                throw CheckpointFormatException.ForField(indexPath, "weight_map", "missing: expected {\"weight_map\": {tensor: shard}}");
            if (map.ValueKind != JsonValueKind.Object)
                throw CheckpointFormatException.ForField(indexPath, "weight_map", $"expected an object, found {map.ValueKind}");
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                    throw CheckpointFormatException.ForField(indexPath, $"weight_map.{entry.Name}", $"expected a shard file name, found {entry.Value.ValueKind}");
                string shard = entry.Value.GetString()!;
                if (shard.Length == 0 || Path.GetFileName(shard) != shard)
                    throw CheckpointFormatException.ForField(indexPath, $"weight_map.{entry.Name}",
                        $"expected a plain file name in the checkpoint directory, found '{shard}'");
                if (!seen.Add(entry.Name))
                    throw CheckpointFormatException.ForField(indexPath, $"weight_map.{entry.Name}", "duplicate tensor name in the index");
                result.Add((entry.Name, shard));
            }
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(indexPath, null, $"malformed index JSON: {e.Message}", e);
        }
        return result;
    }
}
