using System.CommandLine;
using Glm.Onnx.Grammar;
using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.RunCli;

/// <summary>
/// <c>glm-run maskbench --tokenizer DIR [--output results.jsonl] [--steps steps.tsv] [--timeout-s S] [--json]
/// PATH...</c>: runs the grammar engine over MaskBench files and counts as MaskBench does (docs/benchmarks.md).
/// </summary>
public static class MaskbenchCommand
{
    public static Command Create()
    {
        var tokenizer = new Option<string>("--tokenizer") { Description = "Directory with tokenizer.json", Required = true };
        var output = new Option<string?>("--output") { Description = "Per-schema results as JSON lines" };
        var timeout = new Option<double>("--timeout-s") { Description = "Per-schema time limit (compile + all instances)", DefaultValueFactory = _ => 30 };
        var steps = new Option<string?>("--steps") { Description = "Every mask step as a line of TSV (schema file, step, wall us, CPU us, lexer states it added, text before it): where the TBM tail comes from" };
        var json = new Option<bool>("--json") { Description = "Print the summary as one JSON object" };
        var paths = new Argument<string[]>("PATH") { Description = "MaskBench files or directories of them", Arity = ArgumentArity.OneOrMore };
        var command = new Command("maskbench", "Measure the grammar engine on MaskBench schemas")
        {
            tokenizer, output, steps, timeout, json, paths,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var tok = GlmTokenizer.Load(parse.GetValue(tokenizer)!);
            var files = Maskbench.ExpandPaths(parse.GetValue(paths)!);
            var limit = parse.GetValue(timeout);
            if (limit <= 0)
                throw new ArgumentException("--timeout-s must be positive");
            var outPath = parse.GetValue(output);
            using var writer = outPath is null ? null : new StreamWriter(outPath);
            var stepsPath = parse.GetValue(steps);
            using var stepWriter = stepsPath is null ? null : new StreamWriter(stepsPath);
            var summary = Maskbench.Run(tok, files, TimeSpan.FromSeconds(limit), writer, stepWriter);
            Console.WriteLine(parse.GetValue(json) ? summary.ToJson() : summary.ToText());
        }));
        return command;
    }
}
