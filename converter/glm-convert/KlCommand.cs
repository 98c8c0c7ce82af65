using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Glm.Onnx.Checkpoint;
using Glm.Onnx.Contracts.Manifest;
using Glm.Onnx.Verification;

namespace Glm.Onnx.ConvertCli;

/// <summary>
/// <c>glm-convert kl --reference ARTIFACTS_FP32 --candidate ARTIFACTS_X (--prompts reference.safetensors |
/// --random-prompts N --prompt-length L [--seed S]) [--margins 0.25,0.5,1,2] [--min-top1 F] [--json]</c>: per-position
/// KL(p_ref || p_x) and top-1 agreement of two conversions of the same model (llama-perplexity --kl-divergence's
/// summary), the reference's median top-1 margin against the candidate's median logit change, and the top-1 agreement
/// among positions whose reference margin exceeds each threshold.
/// </summary>
public static class KlCommand
{
    public static Command Create()
    {
        var reference = new Option<string>("--reference") { Description = "artifacts of the reference precision (fp32)", Required = true };
        var candidate = new Option<string>("--candidate") { Description = "artifacts of the precision to measure", Required = true };
        var prompts = new Option<string?>("--prompts") { Description = "a reference.safetensors whose <prompt>.input_ids are the prompts" };
        var randomCount = new Option<int>("--random-prompts") { Description = "instead of --prompts: this many prompts of random ids", DefaultValueFactory = _ => 0 };
        var length = new Option<int>("--prompt-length") { Description = "length of each random prompt", DefaultValueFactory = _ => 64 };
        var seed = new Option<int>("--seed") { Description = "seed of the random prompts", DefaultValueFactory = _ => 1 };
        var minTop1 = new Option<double>("--min-top1") { Description = "exit 1 when the top-1 agreement is below this fraction", DefaultValueFactory = _ => 0 };
        var margins = new Option<string>("--margins")
        {
            Description = "comma-separated reference top-1 margins (logits): top-1 agreement among the positions above each",
            DefaultValueFactory = _ => "0.25,0.5,1,2",
        };
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var command = new Command("kl", "KL divergence and top-1 agreement of one precision against another (same model, same prompts)")
        {
            reference, candidate, prompts, randomCount, length, seed, margins, minTop1, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                string refDir = parse.GetValue(reference)!, candDir = parse.GetValue(candidate)!;
                int vocab = ModelManifestJson.Load(refDir).Dimensions.VocabSize;
                var promptFile = parse.GetValue(prompts);
                int count = parse.GetValue(randomCount);
                if ((promptFile is null) == (count == 0))
                    throw new ArgumentException("give either --prompts FILE or --random-prompts N");
                var ids = promptFile is not null ? KlComparison.PromptsOf(promptFile, vocab)
                    : KlComparison.RandomPrompts(count, parse.GetValue(length), vocab, parse.GetValue(seed));
                var thresholds = ParseMargins(parse.GetValue(margins)!);
                var s = await KlComparison.RunAsync(refDir, candDir, ids, marginThresholds: thresholds, cancellationToken: cancellationToken);
                if (parse.GetValue(json))
                    Console.Out.WriteLine(JsonSerializer.Serialize(new
                    {
                        positions = s.Positions, kl_mean = s.Mean, kl_median = s.Median, kl_p99 = s.P99, kl_max = s.Max, top1 = s.Top1Agreement,
                        margin_median = s.MarginMedian, logit_change_median = s.LogitChangeMedian,
                        margin_bands = s.Bands.Select(b => new { min_margin = b.MinMargin, positions = b.Positions, top1 = double.IsNaN(b.Top1Agreement) ? (double?)null : b.Top1Agreement }),
                    }));
                else
                {
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"positions {s.Positions}  KL mean {s.Mean:E3}  median {s.Median:E3}  p99 {s.P99:E3}  max {s.Max:E3}  top-1 {s.Top1Agreement:P2}"));
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  margin median {s.MarginMedian:F3}  logit change median {s.LogitChangeMedian:F3}  top-1 above margin: ") +
                        string.Join("  ", s.Bands.Select(b => string.Create(CultureInfo.InvariantCulture,
                            $"{b.MinMargin:0.###}: {(b.Positions == 0 ? "-" : b.Top1Agreement.ToString("P1", CultureInfo.InvariantCulture))} of {b.Positions}"))));
                }
                return s.Top1Agreement >= parse.GetValue(minTop1) ? 0 : 1;
            }
            catch (Exception e) when (e is InvalidDataException or CheckpointFormatException or IOException or ArgumentException
                                           or NotSupportedException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    /// <summary>"0.25,0.5,1" -> thresholds; an empty text gives none.</summary>
    private static double[] ParseMargins(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(t => double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= 0 && double.IsFinite(v)
            ? v : throw new ArgumentException($"--margins: '{t}' is not a non-negative number"))
        .ToArray();
}
