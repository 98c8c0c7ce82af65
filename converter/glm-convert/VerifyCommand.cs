using System.CommandLine;
using System.Globalization;
using Glm.Onnx.Checkpoint;
using Glm.Onnx.Verification;

namespace Glm.Onnx.ConvertCli;

/// <summary>
/// <c>glm-convert verify &lt;artifacts&gt; --reference &lt;file.safetensors&gt;</c>: runs the artifacts on CPU through the
/// runtime and compares with reference logits, printing max abs error and argmax agreement per position, and the
/// greedy decode check.
/// </summary>
public static class VerifyCommand
{
    public static Command Create()
    {
        var artifacts = new Argument<string>("artifacts") { Description = "artifacts directory written by glm-convert convert" };
        var reference = new Option<string>("--reference") { Description = "reference.safetensors with <prompt>.input_ids / .prefill_logits [/ .greedy_ids]", Required = true };
        var tolerance = new Option<double>("--tolerance") { Description = "max abs logit error allowed", DefaultValueFactory = _ => 1e-3 };
        var minAgree = new Option<double>("--min-argmax-agreement") { Description = "fraction of positions whose argmax must agree", DefaultValueFactory = _ => 1.0 };
        var checksums = new Option<bool>("--checksums") { Description = "verify every file's SHA-256 against the manifest first" };
        var noDecode = new Option<bool>("--no-decode") { Description = "skip the greedy decode check" };
        var blockSize = new Option<int?>("--block-size") { Description = "cache block size (default: the manifest's)" };
        var command = new Command("verify", "Run artifacts on CPU and compare with reference logits")
        {
            artifacts, reference, tolerance, minAgree, checksums, noDecode, blockSize,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                Console.Out.Write(PrecisionText.Write(Glm.Onnx.Contracts.Manifest.ModelManifestJson.Load(parse.GetValue(artifacts)!)));
                var results = await ReferenceVerifier.RunAsync(parse.GetValue(artifacts)!, parse.GetValue(reference)!,
                    new VerificationOptions(VerifyChecksums: parse.GetValue(checksums), BlockSize: parse.GetValue(blockSize)),
                    decode: !parse.GetValue(noDecode), cancellationToken);
                return Report(results, parse.GetValue(tolerance), parse.GetValue(minAgree));
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

    private static int Report(IReadOnlyList<PromptVerification> results, double tolerance, double minAgree)
    {
        bool ok = true;
        int positions = 0, agreements = 0;
        foreach (var r in results)
        {
            Console.Out.WriteLine($"prompt '{r.Prompt}' ({r.MaxAbsErrorPerPosition.Length} positions)");
            Console.Out.WriteLine("  pos  max_abs_err  argmax");
            for (int p = 0; p < r.MaxAbsErrorPerPosition.Length; p++)
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {p,3}  {r.MaxAbsErrorPerPosition[p],11:E3}  {(r.ArgmaxAgreesPerPosition[p] ? "same" : "DIFFERENT")}"));
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  prefill: max abs err {r.MaxAbsError:E3}, argmax agreement {r.ArgmaxAgreements}/{r.ArgmaxAgreesPerPosition.Length}"));
            if (r.ExpectedGreedy is not null)
            {
                Console.Out.WriteLine($"  greedy decode: {(r.GreedyMatches ? "matches" : "DIFFERS")} ({r.ExpectedGreedy.Length} ids)" +
                    (r.GreedyLogitsMaxAbsError is { } g ? string.Create(CultureInfo.InvariantCulture, $", step logits max abs err {g:E3}") : ""));
                if (!r.GreedyMatches)
                {
                    Console.Out.WriteLine($"    expected {string.Join(",", r.ExpectedGreedy)}");
                    Console.Out.WriteLine($"    actual   {string.Join(",", r.ActualGreedy!)}");
                }
            }
            positions += r.ArgmaxAgreesPerPosition.Length;
            agreements += r.ArgmaxAgreements;
            ok &= r.MaxAbsError <= tolerance;
        }
        double fraction = positions == 0 ? 0 : (double)agreements / positions;
        ok &= fraction >= minAgree && results.All(r => r.GreedyMatches || minAgree < 1.0);
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"overall: max abs err {results.Max(r => r.MaxAbsError):E3} (tolerance {tolerance:E1}), argmax agreement {agreements}/{positions} ({fraction:P1}), " +
            $"greedy {results.Count(r => r.GreedyMatches)}/{results.Count} -> {(ok ? "PASS" : "FAIL")}"));
        return ok ? 0 : 1;
    }
}
