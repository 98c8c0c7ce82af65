using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Execution;
using Glm.Onnx.Runtime.Scheduling;

namespace Glm.Onnx.RunCli;

/// <summary>
/// <c>glm-run bench --model DIR [--prompt-length N] [--output-length N] [--concurrency N] [--repeats N]
/// [--pool-blocks 64,640]</c>: prefill and decode throughput medians, TTFT and decode step time; with several pool
/// sizes, the decode step time per pool size (a pool copied per step would grow it). <c>--profile PREFIX</c> turns on
/// ONNX Runtime profiling and prints the profile files written (one per stage and pool size). <c>--json-schema FILE</c>
/// constrains every request to the schema (structured output) and reports the grammar-mask time per decode step
/// (the step's masks computed in parallel) and per token. <c>--json</c> prints one JSON object per pool size instead
/// of the table, with the speculative decoding counters of the measured runs (docs/speculative.md) and resident memory
/// after load and at the end (VmRSS / VmHWM) beside the artifacts' size.
/// <c>--speculative-tokens K</c> makes every request speculate with the model's MTP drafter (random weights: the
/// counters then measure nothing about real acceptance); <c>--oracle --speculative-tokens 1,2,3,4 --concurrency 1,8</c>
/// is the speculative decoding benchmark (<see cref="SpeculativeBench"/>, docs/benchmarks.md).
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var model = new ModelArguments();
        var promptLength = new Option<int>("--prompt-length") { DefaultValueFactory = _ => 32 };
        var outputLength = new Option<int>("--output-length") { DefaultValueFactory = _ => 32 };
        var concurrency = new Option<string>("--concurrency") { Description = "requests at once (with --oracle: a comma-separated list)", DefaultValueFactory = _ => "1" };
        var repeats = new Option<int>("--repeats") { DefaultValueFactory = _ => 5 };
        var poolBlocks = new Option<string?>("--pool-blocks") { Description = "comma-separated pool sizes (blocks) to compare" };
        var profile = new Option<string?>("--profile") { Description = "ONNX Runtime profile file prefix (profiles every run, warm-up included)" };
        var jsonSchema = new Option<string?>("--json-schema") { Description = "FILE: constrain every request to this JSON Schema and report mask time" };
        var json = new Option<bool>("--json") { Description = "print one JSON object per pool size (medians, speculative decoding counters, VmRSS / VmHWM and artifact bytes) instead of the table" };
        var speculative = new Option<string?>("--speculative-tokens")
        {
            Description = "K: requests speculate with K drafts from the model's MTP layer; with --oracle a comma-separated list of K to compare with plain decode",
        };
        var oracle = new Option<bool>("--oracle") { Description = "speculative bench: replay the plain greedy output as drafts (every draft accepted) on top of the MTP passes" };
        var projectLength = new Option<double>("--project-length") { Description = "with --oracle: tokens per verify step to project the gain at", DefaultValueFactory = _ => 3.5 };
        var command = new Command("bench", "Measure prefill / decode throughput and TTFT")
        {
            promptLength, outputLength, concurrency, repeats, poolBlocks, profile, jsonSchema, json, speculative, oracle, projectLength,
        };
        model.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                var pools = parse.GetValue(poolBlocks) is { } list ? ModelArguments.ParseIds(list, "--pool-blocks").Select(b => (int?)b).ToArray() : [null];
                int prompt = parse.GetValue(promptLength), output = parse.GetValue(outputLength), r = parse.GetValue(repeats);
                var conc = ModelArguments.ParseIds(parse.GetValue(concurrency)!, "--concurrency");
                if (prompt <= 0 || output <= 1 || conc.Any(c => c <= 0) || r <= 0)
                    throw new ArgumentException("--prompt-length, --concurrency and --repeats must be positive and --output-length at least 2.");
                bool asJson = parse.GetValue(json);
                var ks = parse.GetValue(speculative) is { } kList ? ModelArguments.ParseIds(kList, "--speculative-tokens") : [0];
                if (ks.Any(k => k < 0 || k > GenerationRequest.MaxSpeculativeTokens))
                    throw new ArgumentException($"--speculative-tokens: each K must be in [0, {GenerationRequest.MaxSpeculativeTokens}].");
                if (parse.GetValue(oracle))
                {
                    if (ks.Any(k => k == 0) || parse.GetValue(speculative) is null)
                        throw new ArgumentException("--oracle compares K > 0 with plain decode: give --speculative-tokens, e.g. 1,2,3,4.");
                    if (parse.GetValue(projectLength) < 1)
                        throw new ArgumentException("--project-length must be at least 1 (tokens per verify step).");
                    using var specModel = model.Load(parse, pools[0]);
                    await SpeculativeBench.Run(specModel, ks, conc, prompt, output, r, parse.GetValue(projectLength), asJson, ct);
                    return 0;
                }
                if (conc.Length != 1 || ks.Length != 1)
                    throw new ArgumentException("--concurrency and --speculative-tokens take one value each, except with --oracle.");
                int n = conc[0], speculativeTokens = ks[0];
                if (!asJson)
                    Console.Out.WriteLine("pool_blocks  pool_MiB  prompt  output  conc  prefill_tok/s  decode_tok/s  ttft_ms  decode_step_ms  decode_cpu_ms  mask_ms/step  mask_ms/token  decode_run_ms  decode_forward_ms  (medians of " + r + ")");
                var profilePrefix = parse.GetValue(profile);
                for (int p = 0; p < pools.Length; p++)
                {
                    var blocks = pools[p];
                    using var loaded = model.Load(parse, blocks, profilePrefix is null ? null : pools.Length > 1 ? $"{profilePrefix}.pool{p}" : profilePrefix);
                    var afterLoad = ProcessMemory.Read();
                    Console.Error.WriteLine($"note: {loaded.Spinning.Reason}");
                    using var engine = loaded.CreateEngine(new SchedulerOptions(MaxTokensPerStep: Math.Max(512, prompt), MaxSequences: Math.Max(64, n), EnablePrefixCaching: false));
                    int vocab = loaded.Executor.Info.VocabSize;
                    var constraint = ConstraintArguments.Read(parse.GetValue(jsonSchema), null, loaded.Tokenizer, [0]);
                    await RunOnce(engine, loaded.Executor, prompt, Math.Min(output, 4), n, vocab, 0, constraint, speculativeTokens, ct); // warm-up
                    var runs = new List<Result>();
                    var speculation0 = engine.Speculation.Snapshot();
                    for (int i = 0; i < r; i++)
                        runs.Add(await RunOnce(engine, loaded.Executor, prompt, output, n, vocab, i + 1, constraint, speculativeTokens, ct));
                    if (asJson)
                        Console.Out.WriteLine(JsonLine(loaded.Cache.NumBlocks, loaded.Cache.TotalBytes, prompt, output, n, runs,
                            engine.Speculation.Snapshot().Since(speculation0), loaded.Manifest.Files.Sum(f => f.Bytes), afterLoad, ProcessMemory.Read()));
                    else
                        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"{loaded.Cache.NumBlocks,11}  {loaded.Cache.TotalBytes / (1 << 20),8}  {prompt,6}  {output,6}  {n,4}  " +
                            $"{Median(runs.Select(x => x.PrefillTps)),13:F1}  {Median(runs.Select(x => x.DecodeTps)),12:F1}  " +
                            $"{Median(runs.Select(x => x.TtftMs)),7:F2}  {Median(runs.Select(x => x.StepMs)),14:F3}  {Median(runs.Select(x => x.StepCpuMs)),13:F3}  " +
                            $"{Median(runs.Select(x => x.MaskStepMs)),12:F3}  {Median(runs.Select(x => x.MaskTokenMs)),13:F3}  " +
                            $"{Median(runs.Select(x => x.RunMs)),13:F3}  {Median(runs.Select(x => x.ForwardMs)),17:F3}"));
                    engine.Dispose(); // no step may run while the profiles are written
                    foreach (var file in loaded.EndProfiling())
                        Console.Out.WriteLine($"profile: {file}");
                }
                return 0;
            }
            catch (Exception e) when (CliErrors.IsExpected(e))
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    // One object per pool size: the table's medians under snake_case names, plus the speculative decoding counters
    // summed over the measured runs (all zero when no request drafted).
    private static string JsonLine(int blocks, long bytes, int prompt, int output, int n, List<Result> runs, Glm.Onnx.Runtime.Telemetry.SpeculationSummary speculation,
        long artifactBytes, ProcessMemory afterLoad, ProcessMemory end)
    {
        var line = new System.Text.Json.Nodes.JsonObject
        {
            ["pool_blocks"] = blocks,
            ["pool_mib"] = bytes / (1 << 20),
            ["prompt_length"] = prompt,
            ["output_length"] = output,
            ["concurrency"] = n,
            ["repeats"] = runs.Count,
            ["prefill_tokens_per_second"] = Median(runs.Select(x => x.PrefillTps)),
            ["decode_tokens_per_second"] = Median(runs.Select(x => x.DecodeTps)),
            ["ttft_ms"] = Median(runs.Select(x => x.TtftMs)),
            ["decode_step_ms"] = Median(runs.Select(x => x.StepMs)),
            ["decode_cpu_ms"] = Median(runs.Select(x => x.StepCpuMs)),
            ["mask_ms_per_step"] = Median(runs.Select(x => x.MaskStepMs)),
            ["mask_ms_per_token"] = Median(runs.Select(x => x.MaskTokenMs)),
            ["decode_run_ms"] = Median(runs.Select(x => x.RunMs)),
            ["decode_forward_ms"] = Median(runs.Select(x => x.ForwardMs)),
            ["speculative_decoding"] = SpeculationJson.Node(speculation),
            ["artifact_bytes"] = artifactBytes,
            ["rss_after_load_bytes"] = afterLoad.RssBytes,
            ["hwm_after_load_bytes"] = afterLoad.PeakRssBytes,
            ["rss_end_bytes"] = end.RssBytes,
            ["hwm_end_bytes"] = end.PeakRssBytes,
        };
        return line.ToJsonString();
    }

    private sealed record Result(double PrefillTps, double DecodeTps, double TtftMs, double StepMs, double StepCpuMs, double MaskStepMs, double MaskTokenMs,
        double RunMs, double ForwardMs);

    /// <summary>
    /// n requests submitted together. Prefill rate = all prompt tokens / time to the last first token; decode rate =
    /// tokens after each request's first / time from the last first token to the end (the decode-only phase when the
    /// prompts are prefilled in one step); step time = that phase's wall time / its steps; step CPU time = the
    /// process's CPU time (all threads) over that phase / its steps, which other processes' load barely moves. Mask
    /// time per step = the engine's mask wall time (all sequences' masks of a step in parallel) / all steps; per token
    /// = the requests' own mask time / their tokens. Run time per step = the executor's time inside ONNX Runtime's Run
    /// calls over the decode phase / its steps; forward time the same for the whole executor call (binding and outputs
    /// included): step - run is the host's share of a step, step - forward the engine's (scheduling, sampling,
    /// emitting). Constrained requests stop at eos once the grammar ends.
    /// </summary>
    private static async Task<Result> RunOnce(GenerationEngine engine, IModelExecutor executor, int prompt, int output, int n, int vocab, int round,
        Glm.Onnx.Runtime.Constraints.GrammarConstraint? constraint, int speculativeTokens, CancellationToken ct)
    {
        var mask0 = engine.MaskTime;
        var start = Stopwatch.GetTimestamp();
        long steps0 = engine.StepCount;
        var firstTokenAt = new long[n];
        var stepsAtFirst = new long[n];
        var cpuAtFirst = new TimeSpan[n];
        var runAtFirst = new TimeSpan[n];
        var forwardAtFirst = new TimeSpan[n];
        using var process = Process.GetCurrentProcess();
        var usages = await Task.WhenAll(Enumerable.Range(0, n).Select(async i =>
        {
            // Distinct prompts per request and round: nothing is served from a cache.
            var ids = Enumerable.Range(0, prompt).Select(t => (t * 31 + i * 7 + round * 13 + 1) % vocab).ToArray();
            var request = new GenerationRequest(ids) { MaxNewTokens = output, IgnoreEos = constraint is null, Constraint = constraint, SpeculativeTokens = speculativeTokens };
            GenerationUsage? usage = null;
            await foreach (var token in engine.GenerateAsync(request, ct))
            {
                if (firstTokenAt[i] == 0)
                {
                    firstTokenAt[i] = Stopwatch.GetTimestamp();
                    stepsAtFirst[i] = engine.StepCount;
                    cpuAtFirst[i] = CpuTime(process);
                    runAtFirst[i] = executor.RunTime;
                    forwardAtFirst[i] = engine.ForwardTime;
                }
                usage = token.Usage ?? usage;
            }
            return usage!;
        }));
        var end = Stopwatch.GetTimestamp();
        var cpuEnd = CpuTime(process);
        var runEnd = executor.RunTime;
        var forwardEnd = engine.ForwardTime;
        long lastFirst = firstTokenAt.Max();
        double prefillSeconds = Stopwatch.GetElapsedTime(start, lastFirst).TotalSeconds;
        double decodeSeconds = Stopwatch.GetElapsedTime(lastFirst, end).TotalSeconds;
        long decodeSteps = engine.StepCount - stepsAtFirst.Max();
        int decoded = usages.Sum(u => u.CompletionTokens - 1);
        int last = Array.IndexOf(firstTokenAt, lastFirst);
        return new Result(
            n * prompt / prefillSeconds,
            decoded / decodeSeconds,
            usages.Select(u => u.TimeToFirstToken.TotalMilliseconds).Order().ElementAt(n / 2),
            decodeSteps > 0 ? decodeSeconds * 1000 / decodeSteps : 0,
            decodeSteps > 0 ? (cpuEnd - cpuAtFirst[last]).TotalMilliseconds / decodeSteps : 0,
            (engine.MaskTime - mask0).TotalMilliseconds / Math.Max(1, engine.StepCount - steps0),
            usages.Sum(u => u.MaskTime.TotalMilliseconds) / Math.Max(1, usages.Sum(u => u.CompletionTokens)),
            decodeSteps > 0 ? (runEnd - runAtFirst[last]).TotalMilliseconds / decodeSteps : 0,
            decodeSteps > 0 ? (forwardEnd - forwardAtFirst[last]).TotalMilliseconds / decodeSteps : 0);
    }

    private static TimeSpan CpuTime(Process process)
    {
        process.Refresh();
        return process.TotalProcessorTime;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
