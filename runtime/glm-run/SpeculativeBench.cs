using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Glm.Onnx.Runtime;
using Glm.Onnx.Runtime.Drafting;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Scheduling;

namespace Glm.Onnx.RunCli;

/// <summary>
/// <c>glm-run bench --oracle --speculative-tokens 1,2,3,4 --concurrency 1,8</c>: the cost of a speculative verify step against a
/// plain decode step, at full acceptance. Per concurrency, a plain (K = 0) greedy round first records every request's
/// continuation; then each repeat runs K = 0 and every listed K in turn (alternated, so that load drifts hit all
/// alike) with an <see cref="OracleDrafter"/> that replays those continuations on top of the MTP drafter (the MTP
/// passes run and are paid for; only their tokens are replaced), so every draft is accepted. Reported per K (medians):
/// decode tokens/s, wall and CPU ms per decode step, the step's cost relative to a plain step, the measured
/// tokens/s gain, tokens per verify step, and the gain projected at a mean acceptance length (<c>--project-length</c>,
/// default GLM-5.2's published 3.5 tokens per verify step) = min(length, K + 1) x plain step / K step.
/// </summary>
internal static class SpeculativeBench
{
    private sealed record Round(double DecodeTps, double StepMs, double StepCpuMs, double TokensPerVerify);

    public static async Task Run(GlmModel loaded, int[] ks, int[] concurrencies, int prompt, int output, int repeats,
        double projectLength, bool json, CancellationToken ct)
    {
        var info = loaded.Executor.Info;
        var drafter = new OracleDrafter(info.HasDraftStage ? new MtpDrafter(loaded.Executor) : null);
        var rows = new List<Dictionary<string, object>>();
        if (!json)
        {
            Console.Out.WriteLine($"speculative decode bench: prompt {prompt}, output {output}, oracle drafts (all accepted), " +
                (info.HasDraftStage ? "MTP passes run and timed" : "no MTP stage: drafting costs nothing here") + $", medians of {repeats}");
            Console.Out.WriteLine("conc   K  decode_tok/s  step_ms  step_cpu_ms  step_cost_x  tok/s_gain_x  tokens/verify  projected_gain_x@" +
                projectLength.ToString("0.##", CultureInfo.InvariantCulture));
        }
        foreach (int n in concurrencies)
        {
            using var engine = loaded.CreateEngine(new SchedulerOptions(MaxTokensPerStep: Math.Max(512, n * (prompt + ks.Max() + 1)),
                MaxSequences: Math.Max(64, n), EnablePrefixCaching: false), drafter: drafter);
            int vocab = info.VocabSize;
            var prompts = Enumerable.Range(0, n).Select(i => Enumerable.Range(0, prompt).Select(t => (t * 31 + i * 7 + 1) % vocab).ToArray()).ToArray();
            // The greedy continuations the oracle replays (K = 0 output is the reference every K reproduces).
            var continuations = await Task.WhenAll(prompts.Select(async ids =>
            {
                var tokens = new List<int>();
                await foreach (var token in engine.GenerateAsync(new GenerationRequest(ids) { MaxNewTokens = output, IgnoreEos = true }, ct))
                    tokens.Add(token.TokenId);
                return (IReadOnlyList<int>)tokens;
            }));
            var all = new[] { 0 }.Concat(ks).ToArray();
            foreach (int k in all)
                await RunRound(engine, drafter, prompts, continuations, Math.Min(output, 8), k, ct); // warm-up
            var results = all.ToDictionary(k => k, _ => new List<Round>());
            for (int r = 0; r < repeats; r++)
                foreach (int k in all)
                    results[k].Add(await RunRound(engine, drafter, prompts, continuations, output, k, ct));
            double plainStep = Median(results[0].Select(x => x.StepMs)), plainTps = Median(results[0].Select(x => x.DecodeTps));
            foreach (int k in all)
            {
                double step = Median(results[k].Select(x => x.StepMs)), tps = Median(results[k].Select(x => x.DecodeTps));
                double cost = step / plainStep, projected = Math.Min(projectLength, k + 1) / cost;
                double perVerify = Median(results[k].Select(x => x.TokensPerVerify));
                var stats = engine.Speculation.Snapshot();
                rows.Add(new Dictionary<string, object>
                {
                    ["concurrency"] = n, ["speculative_tokens"] = k, ["decode_tokens_per_second"] = tps, ["step_ms"] = step,
                    ["step_cpu_ms"] = Median(results[k].Select(x => x.StepCpuMs)), ["step_cost_ratio"] = cost, ["tokens_per_second_gain"] = tps / plainTps,
                    ["tokens_per_verify_step"] = perVerify, ["projected_gain"] = projected, ["projection_length"] = projectLength,
                    ["engine_verify_steps"] = stats.VerifySteps, ["engine_draft_tokens"] = stats.DraftTokens,
                    ["engine_accepted_per_position"] = stats.AcceptedPerPosition, ["engine_mean_accepted_length"] = stats.MeanAcceptedLength,
                });
                if (!json)
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{n,4}  {k,2}  {tps,12:F1}  {step,7:F2}  {Median(results[k].Select(x => x.StepCpuMs)),11:F2}  {cost,11:F3}  {tps / plainTps,12:F3}  {perVerify,13:F2}  {projected,16:F3}"));
            }
        }
        if (json)
            Console.Out.WriteLine(JsonSerializer.Serialize(new { speculative = rows, prompt_length = prompt, output_length = output, repeats }));
    }

    /// <summary>
    /// One round: n requests together, each scripted with its continuation. Decode rate and step time cover the window
    /// from the last request's first token to the end (no prefill in it); CPU time is the process's over that window.
    /// </summary>
    private static async Task<Round> RunRound(GenerationEngine engine, OracleDrafter drafter, int[][] prompts,
        IReadOnlyList<int>[] continuations, int output, int k, CancellationToken ct)
    {
        int n = prompts.Length;
        var firstAt = new long[n];
        var stepsAtFirst = new long[n];
        var cpuAtFirst = new TimeSpan[n];
        using var process = Process.GetCurrentProcess();
        var usages = await Task.WhenAll(Enumerable.Range(0, n).Select(async i =>
        {
            var request = new GenerationRequest(prompts[i]) { MaxNewTokens = output, IgnoreEos = true, SpeculativeTokens = k };
            drafter.Script(request, continuations[i]);
            GenerationUsage? usage = null;
            int index = 0;
            await foreach (var token in engine.GenerateAsync(request, ct))
            {
                if (token.TokenId != continuations[i][index++])
                    throw new InvalidOperationException($"K = {k}: request {i} token {index - 1} differs from the K = 0 output.");
                if (firstAt[i] == 0)
                {
                    firstAt[i] = Stopwatch.GetTimestamp();
                    stepsAtFirst[i] = engine.StepCount;
                    process.Refresh();
                    cpuAtFirst[i] = process.TotalProcessorTime;
                }
                usage = token.Usage ?? usage;
            }
            return usage!;
        }));
        long end = Stopwatch.GetTimestamp();
        process.Refresh();
        var cpuEnd = process.TotalProcessorTime;
        long lastFirst = firstAt.Max();
        int last = Array.IndexOf(firstAt, lastFirst);
        double seconds = Stopwatch.GetElapsedTime(lastFirst, end).TotalSeconds;
        long steps = engine.StepCount - stepsAtFirst.Max();
        // Tokens after each request's first, emitted in the window (a request's burst may straddle its start slightly).
        int decoded = usages.Sum(u => u.CompletionTokens - 1);
        long verifies = usages.Sum(u => u.Speculation?.VerifySteps ?? 0);
        return new Round(decoded / seconds, steps > 0 ? seconds * 1000 / steps : 0,
            steps > 0 ? (cpuEnd - cpuAtFirst[last]).TotalMilliseconds / steps : 0,
            verifies > 0 ? (double)(usages.Sum(u => u.Speculation?.AcceptedTokens ?? 0) + verifies) / verifies : 1);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
