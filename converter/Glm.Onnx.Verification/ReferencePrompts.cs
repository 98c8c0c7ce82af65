using System.Runtime.InteropServices;
using Glm.Onnx.Checkpoint;

namespace Glm.Onnx.Verification;

/// <summary>One prompt of a reference file: ids, logits at every prompt position, and optional greedy continuation.</summary>
public sealed record ReferencePrompt(string Name, long[] InputIds, float[] PrefillLogits, long[]? GreedyIds, float[]? GreedyLogits);

/// <summary>
/// Reads a reference.safetensors as the fixtures lay it out: for each prompt P, <c>P.input_ids</c> int64 [1, S],
/// <c>P.prefill_logits</c> float32 [S, vocab], and optionally <c>P.greedy_ids</c> / <c>P.greedy_logits</c>.
/// </summary>
public static class ReferencePrompts
{
    public static IReadOnlyList<ReferencePrompt> Load(string path, int vocabSize)
    {
        using var file = SafetensorsFile.Open(path);
        var names = file.Tensors.Keys.Where(k => k.EndsWith(".input_ids", StringComparison.Ordinal))
            .Select(k => k[..^".input_ids".Length]).OrderBy(k => k, StringComparer.Ordinal).ToArray();
        if (names.Length == 0)
            throw new InvalidDataException($"{path}: no '<prompt>.input_ids' tensors: not a reference file");
        var prompts = new List<ReferencePrompt>();
        foreach (var p in names)
        {
            var ids = ReadInt64(file, p + ".input_ids");
            var logitsName = p + ".prefill_logits";
            if (!file.Tensors.ContainsKey(logitsName))
                throw new InvalidDataException($"{path}: prompt '{p}' has no '{logitsName}'");
            var info = file.GetInfo(logitsName);
            if (info.Shape.Length != 2 || info.Shape[0] != ids.Length || info.Shape[1] != vocabSize)
                throw new InvalidDataException($"{path}: '{logitsName}' has shape {info.ShapeText}, expected [{ids.Length}, {vocabSize}]");
            long[]? greedy = file.Tensors.ContainsKey(p + ".greedy_ids") ? ReadInt64(file, p + ".greedy_ids") : null;
            float[]? greedyLogits = file.Tensors.ContainsKey(p + ".greedy_logits") ? file.ReadFloat32(p + ".greedy_logits") : null;
            prompts.Add(new ReferencePrompt(p, ids, file.ReadFloat32(logitsName), greedy, greedyLogits));
        }
        return prompts;
    }

    private static long[] ReadInt64(SafetensorsFile file, string name)
    {
        var info = file.GetInfo(name);
        if (info.DType != DType.I64)
            throw new InvalidDataException($"{file.FilePath}: '{name}' is {info.DType}, expected I64");
        return MemoryMarshal.Cast<byte, long>(file.GetBytes(name)).ToArray();
    }
}
