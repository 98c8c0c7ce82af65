using System.Diagnostics;
using System.Globalization;
using Glm.Onnx.Runtime;
using Glm.Onnx.Runtime.Cache;
using Glm.Onnx.Runtime.Execution;

namespace Glm.Onnx.DecodeBench;

/// <summary>
/// The cost of a speculative verify step against a plain decode step, straight on <see cref="IModelExecutor"/> (no
/// engine, no sampling): every sequence first prefills <c>context</c> tokens (main model, then the MTP layer over the
/// same rows, teacher-forced, so its cache is as long); then, per round, in turn: a plain decode step (1 new token and
/// 1 logits row per sequence), a verify step for each K (K+1 new tokens and K+1 logits rows per sequence, at the same
/// positions: each step overwrites the slots the previous one wrote, as a rejected verify leaves them to be rewritten)
/// and one MTP draft step (ForwardDraft, 1 row per sequence; K draft tokens cost K of them). Rounds alternate the
/// kinds so load drift hits all alike; medians of wall and process CPU time per step, and ratios to the plain step.
/// docs/speculative.md, "Verify cost".
/// </summary>
internal static class VerifyCost
{
    public static int Run(string[] args)
    {
        var options = Options.Parse(args);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"verify cost: {options.Model}, context {options.Context}, {options.Repeats} rounds, intra-op threads {(options.Threads == 0 ? "all" : options.Threads.ToString(CultureInfo.InvariantCulture))}, load {File.ReadAllText("/proc/loadavg").Trim()}"));
        Console.WriteLine("conc  step         wall_ms  cpu_ms  wall_ratio  cpu_ratio  (medians; ratios to the plain decode step)");
        foreach (int concurrency in options.Concurrency)
            Measure(options, concurrency);
        return 0;
    }

    private static void Measure(Options options, int concurrency)
    {
        int maxK = options.Ks.Max();
        int blockSize = Glm.Onnx.Contracts.Manifest.ModelManifestJson.Load(options.Model).Cache.BlockSize;
        int blocksPerSequence = (options.Context + maxK + 1 + blockSize - 1) / blockSize;
        using var model = GlmModel.Load(options.Model, new GlmModelOptions(
            Cache: new KvCacheOptions(NumBlocks: blocksPerSequence * concurrency, MemoryBudgetBytes: long.MaxValue),
            IntraOpThreads: options.Threads));
        var executor = model.Executor;
        var info = executor.Info;
        if (!info.HasDraftStage)
            throw new ArgumentException($"'{options.Model}' has no MTP draft stage: convert with --mtp-layers 1 (glm-convert synth --preset small --mtp-layers 1).");
        if (options.Context + maxK + 1 > info.MaxSequenceLength)
            throw new ArgumentException($"context {options.Context} + K {maxK} + 1 exceeds the model's {info.MaxSequenceLength} positions.");

        // Sequence s owns blocks s*B .. s*B+B-1 (main and MTP pools share block ids).
        var tables = Enumerable.Range(0, concurrency)
            .Select(s => Enumerable.Range(s * blocksPerSequence, blocksPerSequence).ToArray()).ToArray();
        var hidden = Prefill(executor, options.Context, tables);

        var plain = Step(tables, options.Context, newTokens: 1, info.VocabSize);
        var verify = options.Ks.ToDictionary(k => k, k => Step(tables, options.Context, newTokens: k + 1, info.VocabSize));
        // The first draft after the context: row C-1 takes the next token and h_{C-1}, at position C-1.
        var draft = new DraftBatch(Step(tables, options.Context - 1, newTokens: 1, info.VocabSize), hidden);

        var kinds = new List<(string Name, Action Run)> { ("plain", () => executor.Forward(plain)) };
        kinds.AddRange(options.Ks.Select(k => ($"verify K={k}", (Action)(() => executor.Forward(verify[k])))));
        kinds.Add(("mtp draft", () => executor.ForwardDraft(draft)));

        foreach (var (_, run) in kinds)
            run(); // warm-up: first-run allocations and caches
        var wall = kinds.ToDictionary(k => k.Name, _ => new List<double>());
        var cpu = kinds.ToDictionary(k => k.Name, _ => new List<double>());
        using var process = Process.GetCurrentProcess();
        for (int round = 0; round < options.Repeats; round++)
        {
            // Alternate the order each round (forward, then backward) so no kind always follows the same one.
            var order = round % 2 == 0 ? kinds : Enumerable.Reverse(kinds).ToList();
            foreach (var (name, run) in order)
            {
                process.Refresh();
                var cpu0 = process.TotalProcessorTime;
                long start = Stopwatch.GetTimestamp();
                run();
                wall[name].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                process.Refresh();
                cpu[name].Add((process.TotalProcessorTime - cpu0).TotalMilliseconds);
            }
        }
        double plainWall = Median(wall["plain"]), plainCpu = Median(cpu["plain"]);
        foreach (var (name, _) in kinds)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{concurrency,4}  {name,-11}  {Median(wall[name]),7:F2}  {Median(cpu[name]),6:F1}  {Median(wall[name]) / plainWall,10:F3}  {Median(cpu[name]) / plainCpu,9:F3}"));
    }

    /// <summary>
    /// Main-model prefill of every sequence (all rows' logits, for their hidden states), then the MTP layer over rows
    /// 0..context-2 teacher-forced (row i: token i+1, hidden h_i) so its cache holds the context too. Returns the last
    /// row's hidden state per sequence, the input of the next draft step.
    /// </summary>
    private static float[] Prefill(IModelExecutor executor, int context, int[][] tables)
    {
        int vocab = executor.Info.VocabSize, hiddenSize = executor.Info.HiddenSize;
        var last = new float[tables.Length * hiddenSize];
        for (int s = 0; s < tables.Length; s++)
        {
            var ids = Enumerable.Range(0, context).Select(t => (long)((t * 31 + s * 7 + 1) % vocab)).ToArray();
            var rows = Enumerable.Range(0, context).Select(t => (long)t).ToArray();
            var output = executor.Forward(new ForwardBatch(ids, rows, [0, context], [0], tables[s], tables[s].Length, rows));
            var hidden = new float[context * hiddenSize];
            for (int r = 0; r < context; r++)
                output.HiddenRow(r).CopyTo(hidden.AsSpan(r * hiddenSize));
            output.HiddenRow(context - 1).CopyTo(last.AsSpan(s * hiddenSize));
            if (context > 1)
            {
                var draftRows = rows[..^1];
                executor.ForwardDraft(new DraftBatch(
                    new ForwardBatch(ids[1..], draftRows, [0, context - 1], [0], tables[s], tables[s].Length, draftRows),
                    hidden.AsMemory(0, (context - 1) * hiddenSize)));
            }
        }
        return last;
    }

    /// <summary>One step of every sequence: <paramref name="newTokens"/> tokens from position <paramref name="past"/>, a logits row each.</summary>
    private static ForwardBatch Step(int[][] tables, int past, int newTokens, int vocab)
    {
        int n = tables.Length, width = tables[0].Length;
        var ids = new long[n * newTokens];
        var positions = new long[n * newTokens];
        var cumulative = new int[n + 1];
        for (int s = 0; s < n; s++)
        {
            for (int t = 0; t < newTokens; t++)
            {
                ids[s * newTokens + t] = (s * 13 + t * 5 + 3) % vocab;
                positions[s * newTokens + t] = past + t;
            }
            cumulative[s + 1] = (s + 1) * newTokens;
        }
        var logits = Enumerable.Range(0, n * newTokens).Select(i => (long)i).ToArray();
        return new ForwardBatch(ids, positions, cumulative, Enumerable.Repeat(past, n).ToArray(),
            tables.SelectMany(t => t).ToArray(), width, logits);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private sealed record Options(string Model, int Context, int[] Ks, int[] Concurrency, int Repeats, int Threads)
    {
        // verify --model DIR [--context 128] [--k 1,2,3,4] [--concurrency 1,8] [--repeats 15] [--threads 0]
        public static Options Parse(string[] args)
        {
            string? model = null;
            int context = 128, repeats = 15, threads = 0;
            int[] ks = [1, 2, 3, 4], conc = [1, 8];
            for (int i = 0; i < args.Length; i++)
            {
                string value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"verify: {args[i]} needs a value.");
                switch (args[i])
                {
                    case "--model": model = value; break;
                    case "--context": context = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "--k": ks = List(value); break;
                    case "--concurrency": conc = List(value); break;
                    case "--repeats": repeats = int.Parse(value, CultureInfo.InvariantCulture); break;
                    case "--threads": threads = int.Parse(value, CultureInfo.InvariantCulture); break;
                    default: throw new ArgumentException($"verify: unknown option '{args[i]}'.");
                }
                i++;
            }
            if (model is null)
                throw new ArgumentException("verify: --model DIR is required (artifacts with an MTP stage).");
            if (context < 2 || repeats < 1 || threads < 0 || ks.Length == 0 || ks.Any(k => k < 1) || conc.Length == 0 || conc.Any(c => c < 1))
                throw new ArgumentException("verify: --context >= 2, --repeats >= 1, --threads >= 0, every K and concurrency >= 1.");
            return new Options(model, context, ks, conc, repeats, threads);
        }

        private static int[] List(string value) =>
            value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray();
    }
}
