using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Glm.Onnx.Checkpoint;

/// <summary>Options of <see cref="CheckpointSynthesizer.Write"/>.</summary>
/// <param name="OutputDirectory">Created if absent.</param>
/// <param name="Config">Any valid GLM config (see <see cref="SynthPresets"/>); a quantization_config makes it block FP8.</param>
/// <param name="Seed">Same seed, same bytes.</param>
/// <param name="MaxShardBytes">Shard cap; above it the weights are split into model-XXXXX-of-YYYYY.safetensors with an index.</param>
/// <param name="Overwrite">Replace existing weights in the directory instead of refusing.</param>
/// <param name="Tokenizer">A tokenizer to write beside the weights, or null: <see cref="TinyGlmTokenizer.Name"/> writes
/// the tiny GLM tokenizer and sets the config's vocab_size and bos / eos / pad ids from it.</param>
public sealed record SynthOptions(string OutputDirectory, GlmConfig Config, ulong Seed = 0, long MaxShardBytes = 5_000_000_000,
    bool Overwrite = false, string? Tokenizer = null)
{
    /// <summary>Tokenizers <see cref="Tokenizer"/> may name.</summary>
    public static IReadOnlyList<string> TokenizerNames { get; } = [TinyGlmTokenizer.Name];
}

/// <summary>What <see cref="CheckpointSynthesizer.Write"/> produced.</summary>
public sealed record SynthResult(IReadOnlyList<string> WeightFiles, long Parameters, long DataBytes);

/// <summary>
/// Writes a random-weight checkpoint in the Hugging Face layout: config.json, generation_config.json, and the
/// <see cref="ExpectedTensors"/> of the config in bf16 (or block FP8 with weight_scale_inv when the config is quantised),
/// sharded with model.safetensors.index.json when larger than the shard cap, plus the tokenizer files when
/// <see cref="SynthOptions.Tokenizer"/> names one. Initialisation follows transformers:
/// normal(0, initializer_range) for projections, embeddings and lm_head; norms 1; biases 0. Streaming: one window of
/// one tensor in memory at a time (at most a few tens of MB whatever the model size).
/// </summary>
public static class CheckpointSynthesizer
{
    private const int WindowElements = 1 << 22;

    /// <summary>Writes the checkpoint; <paramref name="progress"/> receives each tensor name before it is written.</summary>
    public static SynthResult Write(SynthOptions options, IProgress<string>? progress = null)
    {
        var config = options.Tokenizer switch
        {
            null => options.Config,
            TinyGlmTokenizer.Name => TinyGlmTokenizer.ApplyTo(options.Config),
            var other => throw new ArgumentException(
                $"unknown tokenizer '{other}': expected one of {string.Join(", ", SynthOptions.TokenizerNames)}", nameof(options)),
        };
        config.Validate("synth config");
        if (options.MaxShardBytes <= 0) throw new ArgumentOutOfRangeException(nameof(options), "MaxShardBytes must be positive");
        string dir = Path.GetFullPath(options.OutputDirectory);
        PrepareDirectory(dir, options.Overwrite);

        var tensors = ExpectedTensors.For(config);
        var shards = SplitIntoShards(tensors, options.MaxShardBytes);
        var files = new List<string>();
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        float[]? pendingScales = null;
        for (int s = 0; s < shards.Count; s++)
        {
            string fileName = shards.Count == 1 ? GlmCheckpoint.SingleFileName : $"model-{s + 1:D5}-of-{shards.Count:D5}.safetensors";
            string path = Path.Combine(dir, fileName);
            var specs = shards[s].Select(t => new TensorSpec(t.Name, t.DType, t.Shape)).ToList();
            using (var writer = SafetensorsWriter.Create(path, specs, new Dictionary<string, string> { ["format"] = "pt" }))
            {
                foreach (var t in shards[s])
                {
                    progress?.Report(t.Name);
                    if (t.Group == TensorGroup.QuantScale)
                    {
                        if (pendingScales is null) throw new InvalidOperationException($"scale '{t.Name}' does not follow its weight");
                        writer.WriteTensor(t.Name, MemoryMarshal.AsBytes(pendingScales.AsSpan()));
                        pendingScales = null;
                    }
                    else if (t.DType == DType.F8_E4M3) pendingScales = WriteFp8(writer, t, config, options.Seed);
                    else WriteFloat(writer, t, config, options.Seed);
                    weightMap[t.Name] = fileName;
                }
                writer.Complete();
            }
            files.Add(path);
        }
        long dataBytes = tensors.Sum(t => ShapeMath.ElementCount(t.Shape) * t.DType.ElementSize());
        if (shards.Count > 1) WriteIndex(Path.Combine(dir, GlmCheckpoint.IndexFileName), dataBytes, weightMap);
        File.WriteAllText(Path.Combine(dir, GlmCheckpoint.ConfigFileName), config.ToJson());
        File.WriteAllText(Path.Combine(dir, "generation_config.json"), GenerationConfigJson(config));
        if (options.Tokenizer == TinyGlmTokenizer.Name) TinyGlmTokenizer.Write(dir);
        return new SynthResult(files, ExpectedTensors.ParameterCount(tensors), dataBytes);
    }

    /// <summary>Initial value rule: norm weights 1, biases 0, everything else normal(0, initializer_range).</summary>
    private static float? ConstantValue(ExpectedTensor t) =>
        t.Group == TensorGroup.Norm ? (t.Name.EndsWith(".bias", StringComparison.Ordinal) ? 0f : 1f)
        : t.Name.EndsWith("e_score_correction_bias", StringComparison.Ordinal) ? 0f
        : null;

    private static void WriteFloat(SafetensorsWriter writer, ExpectedTensor t, GlmConfig config, ulong seed)
    {
        long count = t.ElementCount;
        var window = new float[(int)Math.Min(count, WindowElements)];
        float? constant = ConstantValue(t);
        ulong stream = NormalGenerator.StreamSeed(seed, t.Name);
        for (long done = 0; done < count; done += window.Length)
        {
            int n = (int)Math.Min(window.Length, count - done);
            if (constant is float c) window.AsSpan(0, n).Fill(c);
            else NormalGenerator.FillParallel(stream, done, window, n, (float)config.InitializerRange);
            writer.AppendFloats(window.AsSpan(0, n));
        }
    }

    /// <summary>Writes a block-FP8 weight window by window (whole row blocks) and returns its scales [rowBlocks, colBlocks].</summary>
    // Hot loop: skip tier-0 code, which is many times slower for vector intrinsics.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float[] WriteFp8(SafetensorsWriter writer, ExpectedTensor t, GlmConfig config, ulong seed)
    {
        var q = config.Quantization!;
        long rows = t.Shape[0], cols = t.Shape[1];
        long rowBlocks = (rows + q.BlockRows - 1) / q.BlockRows, colBlocks = (cols + q.BlockCols - 1) / q.BlockCols;
        var scales = new float[rowBlocks * colBlocks];
        long blocksPerWindow = Math.Max(1, WindowElements / (q.BlockRows * cols));
        var values = new float[(int)Math.Min(rows, blocksPerWindow * q.BlockRows) * cols];
        var codes = new byte[values.Length];
        ulong stream = NormalGenerator.StreamSeed(seed, t.Name);
        for (long rb0 = 0; rb0 < rowBlocks; rb0 += blocksPerWindow)
        {
            long r0 = rb0 * q.BlockRows;
            long r1 = Math.Min(rows, (rb0 + blocksPerWindow) * q.BlockRows);
            int n = (int)((r1 - r0) * cols);
            NormalGenerator.FillParallel(stream, r0 * cols, values, n, (float)config.InitializerRange);
            for (long rb = rb0; rb < Math.Min(rowBlocks, rb0 + blocksPerWindow); rb++)
                for (long cb = 0; cb < colBlocks; cb++)
                {
                    long br0 = rb * q.BlockRows, br1 = Math.Min(rows, br0 + q.BlockRows);
                    long bc0 = cb * q.BlockCols, bc1 = Math.Min(cols, bc0 + q.BlockCols);
                    float amax = 0;
                    for (long r = br0; r < br1; r++)
                        for (long c = bc0; c < bc1; c++) amax = MathF.Max(amax, MathF.Abs(values[(r - r0) * cols + c]));
                    // Dequantised value = fp8 x scale, so the block's largest magnitude maps to the largest e4m3 value.
                    float scale = amax > 0 ? amax / DTypeConversion.E4M3Max : 1f;
                    scales[rb * colBlocks + cb] = scale;
                    for (long r = br0; r < br1; r++)
                        for (long c = bc0; c < bc1; c++)
                        {
                            long i = (r - r0) * cols + c;
                            codes[i] = DTypeConversion.SingleToE4M3(values[i] / scale);
                        }
                }
            writer.Append(codes.AsSpan(0, n));
        }
        return scales;
    }

    private static List<List<ExpectedTensor>> SplitIntoShards(IReadOnlyList<ExpectedTensor> tensors, long cap)
    {
        var shards = new List<List<ExpectedTensor>> { new() };
        long size = 0;
        foreach (var t in tensors)
        {
            long bytes = t.ElementCount * t.DType.ElementSize();
            if (size > 0 && size + bytes > cap)
            {
                shards.Add([]);
                size = 0;
            }
            shards[^1].Add(t);
            size += bytes;
        }
        return shards;
    }

    private static void PrepareDirectory(string dir, bool overwrite)
    {
        Directory.CreateDirectory(dir);
        var existing = Directory.EnumerateFiles(dir, "model*.safetensors").Append(Path.Combine(dir, GlmCheckpoint.IndexFileName))
            .Where(File.Exists).ToList();
        if (existing.Count == 0) return;
        if (!overwrite)
            throw new IOException($"{dir}: already holds weights ({Path.GetFileName(existing[0])}); choose an empty directory or overwrite");
        foreach (var f in existing) File.Delete(f);
    }

    private static void WriteIndex(string path, long totalSize, SortedDictionary<string, string> weightMap)
    {
        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteStartObject("metadata");
        w.WriteNumber("total_size", totalSize);
        w.WriteEndObject();
        w.WriteStartObject("weight_map");
        foreach (var (name, file) in weightMap) w.WriteString(name, file);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static string GenerationConfigJson(GlmConfig c)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteBoolean("_from_model_config", true);
            if (c.BosTokenId is long bos) w.WriteNumber("bos_token_id", bos);
            w.WriteStartArray("eos_token_id");
            foreach (var id in c.EosTokenIds) w.WriteNumberValue(id);
            w.WriteEndArray();
            if (c.PadTokenId is long pad) w.WriteNumber("pad_token_id", pad);
            w.WriteString("transformers_version", c.TransformersVersion ?? "5.17.0");
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }
}
