using System.CommandLine;
using System.Globalization;
using Glm.Onnx.Checkpoint;
using Glm.Onnx.Converter;
using Glm.Onnx.Converter.Conversion;

namespace Glm.Onnx.ConvertCli;

/// <summary>
/// <c>glm-convert convert &lt;checkpoint-dir&gt; &lt;output-dir&gt; [--precision fp32|bf16|fp8|int8|int4] [--attention P]
/// [--dense P] [--experts P] [--lm-head P] [--group-size 32|128] [--accuracy-level 0-4]
/// [--dense-op matmulnbits|dense-projection] [--layers-per-stage N |
/// --stage-layers a,b,c] [--max-shard-size 2GiB] [--block-size 64] [--threads N] [--plan] [--force]</c>.
/// </summary>
public static class ConvertCommand
{
    /// <summary>Environment variable read as a per-tensor delay in ms: a test hook to interrupt tiny conversions.</summary>
    public const string DelayVariable = "GLM_CONVERT_TEST_DELAY_MS";

    public static Command Create()
    {
        var checkpoint = new Argument<string>("checkpoint-dir") { Description = "Hugging Face checkpoint directory (bf16 or block-FP8, single file or sharded)" };
        var output = new Argument<string>("output-dir") { Description = "artifacts directory to create" };
        var precision = new Option<string>("--precision") { Description = "weight storage: fp32 (CPU, verification), bf16, fp8 (keeps block-FP8 weights), int8, int4 (group-quantised)", DefaultValueFactory = _ => "fp32" };
        var parts = Enum.GetValues<WeightPart>().Select(p => (Part: p, Option: new Option<string?>("--" + PrecisionPolicy.PartName(p))
        {
            Description = $"precision of the {PrecisionPolicy.PartName(p)} weights, overriding --precision (fp32, bf16, fp8, int8, int4)",
        })).ToArray();
        var group = new Option<int>("--group-size") { Description = "input columns per int8 / int4 scale group: 32 or 128", DefaultValueFactory = _ => 32 };
        var accuracy = new Option<int>("--accuracy-level") { Description = "MatMulNBits accuracy_level of int8 / int4 dense projections (0-4; 4 = int8 activations, the fast CPU path)", DefaultValueFactory = _ => 4 };
        var denseOp = new Option<string>("--dense-op") { Description = "op of int8 / int4 dense projections: dense-projection (this project's kernel, default) or matmulnbits (ONNX Runtime's MLAS kernels)", DefaultValueFactory = _ => "dense-projection" };
        var perStage = new Option<int?>("--layers-per-stage") { Description = "decoder layers per stage graph (default: all in one stage)" };
        var stageLayers = new Option<string?>("--stage-layers") { Description = "explicit layers per stage, e.g. 3,3,2 (sums to num_hidden_layers)" };
        var shard = new Option<string>("--max-shard-size") { Description = "cap per external-data shard, e.g. 2GiB, 500MB", DefaultValueFactory = _ => "2GiB" };
        var block = new Option<int>("--block-size") { Description = "cache block size recorded in the manifest", DefaultValueFactory = _ => 64 };
        var threads = new Option<int>("--threads") { Description = "threads that quantise int8 / int4 weights (default: all processors; the output bytes are the same for any count)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var plan = new Option<bool>("--plan") { Description = "print stages, files, sizes and the peak-memory estimate; write nothing" };
        var force = new Option<bool>("--force") { Description = "replace an existing output directory" };
        var command = new Command("convert", "Convert a GLM-5.x checkpoint into ONNX stage graphs + external data + glm-model.json")
        {
            checkpoint, output, precision, group, accuracy, denseOp, perStage, stageLayers, shard, block, threads, plan, force,
        };
        foreach (var (_, option) in parts) command.Options.Add(option);
        command.SetAction((parse, cancel) =>
        {
            try
            {
                var options = new ConvertOptions(parse.GetValue(checkpoint)!, parse.GetValue(output)!)
                {
                    Precision = TargetPrecisionNames.Parse(parse.GetValue(precision)!),
                    PartPrecisions = parts.Where(p => parse.GetValue(p.Option) is not null)
                        .ToDictionary(p => p.Part, p => TargetPrecisionNames.Parse(parse.GetValue(p.Option)!)),
                    QuantGroupSize = parse.GetValue(group),
                    AccuracyLevel = parse.GetValue(accuracy),
                    DenseIntOp = PrecisionPolicy.ParseDenseIntOp(parse.GetValue(denseOp)!),
                    LayersPerStage = parse.GetValue(perStage),
                    StageLayers = ParseList(parse.GetValue(stageLayers)),
                    MaxShardBytes = ParseSize(parse.GetValue(shard)!),
                    BlockSize = parse.GetValue(block),
                    Threads = parse.GetValue(threads) is > 0 and var t ? t : throw new ArgumentException($"--threads {parse.GetValue(threads)}: expected a positive number of threads"),
                    Force = parse.GetValue(force),
                    DelayPerTensorMs = int.TryParse(Environment.GetEnvironmentVariable(DelayVariable), out var d) ? d : 0,
                };
                if (parse.GetValue(plan))
                {
                    PrintPlan(ModelConverter.Plan(options));
                    return Task.FromResult(0);
                }
                var result = ModelConverter.Convert(options, new ConsoleProgress(), cancel);
                Console.Out.WriteLine($"converted {result.Stages.Count} stage(s), {ConsoleProgress.Size(result.OutputBytes)} written to {Path.GetFullPath(options.OutputDir)}");
                return Task.FromResult(0);
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine("interrupted: rerun the same command to resume (finished stages are kept)");
                return Task.FromResult(130);
            }
            catch (Exception e) when (e is InvalidDataException or CheckpointFormatException or IOException or ArgumentException
                                           or NotSupportedException or KeyNotFoundException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return Task.FromResult(1);
            }
        });
        return command;
    }

    private static void PrintPlan(ConversionPlan plan)
    {
        Console.Out.WriteLine($"checkpoint  {plan.CheckpointDir}");
        Console.Out.WriteLine($"precision   {plan.Policy}");
        Console.Out.WriteLine($"read        {ConsoleProgress.Size(plan.SourceBytes)} in {plan.Tensors} tensors (largest {ConsoleProgress.Size(plan.LargestSourceTensorBytes)})");
        Console.Out.WriteLine($"write       {ConsoleProgress.Size(plan.OutputBytes)} in {plan.Stages.Sum(s => s.Files.Count)} files");
        Console.Out.WriteLine($"peak memory {ConsoleProgress.Size(plan.PeakMemoryEstimateBytes)} (estimate: chunk buffers + largest graph + runtime; independent of checkpoint size)");
        foreach (var s in plan.Stages)
        {
            var st = s.Stage;
            var notes = (st.IsFirst ? " embed" : "") + (st.IsLast ? " lm_head" : "") + (st.TakesPrevTopk ? " takes-prev-topk" : "") + (st.EmitsTopk ? " emits-topk" : "");
            Console.Out.WriteLine($"stage {st.Index}: layers {st.FirstLayer}-{st.EndLayer - 1}{notes}");
            foreach (var f in s.Files) Console.Out.WriteLine($"  {f.Path,-28} {ConsoleProgress.Size(f.Bytes),12}");
        }
    }

    private static IReadOnlyList<int>? ParseList(string? text) =>
        string.IsNullOrWhiteSpace(text) ? null
            : text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v
                    : throw new ArgumentException($"--stage-layers: '{p}' is not a positive integer")).ToArray();

    /// <summary>Parses 123, 500MB, 2GiB, 1.5GB (decimal and binary units).</summary>
    public static long ParseSize(string text)
    {
        var t = text.Trim();
        int split = 0;
        while (split < t.Length && (char.IsDigit(t[split]) || t[split] == '.')) split++;
        if (split == 0 || !double.TryParse(t[..split], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            throw new ArgumentException($"--max-shard-size '{text}': expected a number with an optional unit (KB, MB, GB, KiB, MiB, GiB)");
        double unit = t[split..].Trim().ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "KB" => 1e3, "MB" => 1e6, "GB" => 1e9,
            "KIB" => 1024, "MIB" => 1 << 20, "GIB" => 1 << 30,
            var u => throw new ArgumentException($"--max-shard-size '{text}': unknown unit '{u}'"),
        };
        return (long)(value * unit);
    }
}
