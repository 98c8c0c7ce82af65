using System.Diagnostics;
using System.Text.Json;
using Glm.Onnx.Grammar;
using Glm.Onnx.Grammar.Json;
using Glm.Onnx.Grammar.Vocabulary;
using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.RunCli;

/// <summary>
/// The MaskBench loop: per schema, compile (TTFM = schema text to first mask), then for every instance serialize it
/// compactly, tokenize it without special tokens and walk its tokens through the engine, computing the full mask at
/// every step (TBM, single-threaded) and checking each token is allowed and the end accepted.
/// </summary>
internal static class Maskbench
{
    public static List<string> ExpandPaths(IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (var p in paths)
        {
            if (Directory.Exists(p))
                files.AddRange(Directory.GetFiles(p, "*.json").Order(StringComparer.Ordinal));
            else if (File.Exists(p))
                files.Add(p);
            else
                throw new ArgumentException($"{p}: no such file or directory");
        }
        if (files.Count == 0)
            throw new ArgumentException("no MaskBench files given");
        return files;
    }

    public static TokenVocabulary Vocabulary(GlmTokenizer tok) =>
        new(tok.VocabularySize, id =>
        {
            try
            {
                return tok.TokenBytes(id).ToArray();
            }
            catch (ArgumentOutOfRangeException)
            {
                return null; // a gap in the id space
            }
        }, tok.IsSpecial);

    public static MaskbenchSummary Run(GlmTokenizer tok, List<string> files, TimeSpan limit, StreamWriter? writer,
        StreamWriter? steps = null)
    {
        var vocab = Vocabulary(tok);
        var summary = new MaskbenchSummary();
        var mask = new ulong[vocab.MaskWords];
        WarmUp(vocab, tok, mask);
        foreach (var file in files)
        {
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(File.ReadAllText(file));
            }
            catch (JsonException e)
            {
                throw new ArgumentException($"{file}: not valid JSON ({e.Message})");
            }
            using (doc)
            {
                var root = doc.RootElement;
                if (!root.TryGetProperty("schema", out var schema) || !root.TryGetProperty("tests", out var tests) ||
                    tests.ValueKind != JsonValueKind.Array)
                    throw new ArgumentException($"{file}: expected {{\"schema\", \"tests\": [...]}}");
                var result = RunOne(vocab, tok, schema.GetRawText(), tests, limit, mask, summary,
                    steps is null ? null : new StepLog(steps, Path.GetFileName(file)));
                summary.Count(result.Status);
                writer?.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["file"] = Path.GetFileName(file),
                    ["status"] = result.Status,
                    ["ttfm_us"] = result.TtfmUs,
                    ["tbm_max_us"] = result.TbmMaxUs,
                    ["error"] = result.Error,
                }));
            }
        }
        return summary;
    }

    /// <summary>
    /// Runs the engine on a few built-in schemas first so that the JIT has optimized the hot paths before anything is
    /// timed (a serving process is warm too); nothing from the measured files is used.
    /// </summary>
    private static void WarmUp(TokenVocabulary vocab, GlmTokenizer tok, ulong[] mask)
    {
        (string Schema, string Instance)[] cases =
        [
            ("{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":40},\"n\":{\"type\":\"integer\",\"minimum\":0},\"tags\":{\"type\":\"array\",\"items\":{\"enum\":[\"a\",\"b\"]}}},\"required\":[\"name\"]}",
             "{\"name\":\"warm up text, with some words\",\"n\":12345,\"tags\":[\"a\",\"b\"],\"x\":{\"y\":[1.5,true,null]}}"),
            ("{\"type\":\"array\",\"items\":{\"type\":\"string\",\"pattern\":\"^[a-z]+[0-9]*$\",\"format\":\"hostname\"}}",
             "[\"abc12\",\"zz\"]"),
        ];
        for (var round = 0; round < 30; round++)
            foreach (var (schema, instance) in cases)
            {
                var state = GrammarCompiler.CompileJsonSchema(schema, vocab).NewState();
                foreach (var id in tok.Encode(instance, addSpecialTokens: false))
                {
                    state.ComputeMask(mask);
                    if (!state.Advance(id))
                        throw new InvalidOperationException("warm-up instance refused: the engine is broken");
                }
            }
    }

    private sealed record SchemaResult(string Status, double? TtfmUs, string? Error)
    {
        public double TbmMaxUs { get; init; }
    }

    private static SchemaResult RunOne(TokenVocabulary vocab, GlmTokenizer tok, string schemaText, JsonElement tests,
        TimeSpan limit, ulong[] mask, MaskbenchSummary summary, StepLog? steps)
    {
        var clock = Stopwatch.StartNew();
        var cpu0 = ThreadCpuClock.NowUs();
        CompiledGrammar grammar;
        double ttfm;
        try
        {
            grammar = GrammarCompiler.CompileJsonSchema(schemaText, vocab, new JsonSchemaOptions { CompileTimeout = limit });
            grammar.NewState().ComputeMask(mask);
            ttfm = clock.Elapsed.TotalMicroseconds;
            summary.TtfmCpu.Add(ThreadCpuClock.NowUs() - cpu0);
        }
        catch (GrammarException e)
        {
            return new SchemaResult(clock.Elapsed > limit ? "timeout" : "compile_error", null, e.Message);
        }
        summary.Ttfm.Add(ttfm);
        string? validation = null, invalidation = null;
        var tbm = new List<double>();
        var tbmCpu = new List<double>();
        foreach (var test in tests.EnumerateArray())
        {
            var valid = test.GetProperty("valid").GetBoolean();
            var text = JsonCompact.Serialize(test.GetProperty("data"));
            var ids = tok.Encode(text, addSpecialTokens: false);
            var state = grammar.NewState();
            var accepted = true;
            var consumed = 0;
            try
            {
                foreach (var id in ids)
                {
                    var states0 = grammar.LexerStates;
                    var c0 = ThreadCpuClock.NowUs();
                    var t0 = Stopwatch.GetTimestamp();
                    state.ComputeMask(mask);
                    tbm.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
                    tbmCpu.Add(ThreadCpuClock.NowUs() - c0);
                    // The last few tokens before the step say where in the instance it was (a key, a string...).
                    steps?.Write(consumed, tbm[^1], tbmCpu[^1], grammar.LexerStates - states0,
                        tok.Decode(ids.AsSpan(Math.Max(0, consumed - 8), Math.Min(consumed, 8))));
                    if (!MaskOps.IsAllowed(mask, id))
                    {
                        accepted = false;
                        break;
                    }
                    consumed++;
                    if (!state.Advance(id))
                        return new SchemaResult("engine_error", ttfm, $"token {id} in the mask but refused by Advance ({text})");
                    if (clock.Elapsed > limit)
                        return new SchemaResult("timeout", ttfm, null);
                }
                accepted = accepted && state.IsAccepting;
            }
            catch (GrammarException e)
            {
                return new SchemaResult("compile_error", ttfm, e.Message);
            }
            if (valid && !accepted)
                validation ??= $"{text} (refused after: {tok.Decode(ids.AsSpan(0, consumed))})";
            if (!valid && accepted)
                invalidation ??= text;
        }
        summary.Tokens += tbm.Count;
        summary.Tbm.AddRange(tbm);
        summary.TbmCpu.AddRange(tbmCpu);
        var tbmMax = tbm.Count == 0 ? 0 : tbm.Max();
        if (invalidation is not null)
            return new SchemaResult("invalidation_error", ttfm, invalidation) { TbmMaxUs = tbmMax };
        if (validation is not null)
            return new SchemaResult("validation_error", ttfm, validation) { TbmMaxUs = tbmMax };
        return new SchemaResult("passing", ttfm, null) { TbmMaxUs = tbmMax };
    }
}

/// <summary>One schema's lines of <c>--steps</c>: one per mask, TSV.</summary>
internal sealed class StepLog(StreamWriter writer, string file)
{
    public void Write(int step, double wallUs, double cpuUs, int lexerStatesAdded, string before) =>
        writer.WriteLine($"{file}\t{step}\t{wallUs:F1}\t{cpuUs:F1}\t{lexerStatesAdded}\t{JsonSerializer.Serialize(before)}");
}

/// <summary>Counts and percentiles as MaskBench reports them.</summary>
internal sealed class MaskbenchSummary
{
    public int Schemas, Passing, CompileError, ValidationError, InvalidationError, Timeout, EngineError;
    public long Tokens;
    public readonly List<double> Tbm = new();
    public readonly List<double> Ttfm = new();
    public readonly List<double> TbmCpu = new();
    public readonly List<double> TtfmCpu = new();

    public void Count(string status)
    {
        Schemas++;
        switch (status)
        {
            case "passing": Passing++; break;
            case "compile_error": CompileError++; break;
            case "validation_error": ValidationError++; break;
            case "invalidation_error": InvalidationError++; break;
            case "timeout": Timeout++; break;
            default: EngineError++; break;
        }
    }

    private static double Pct(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p / 100 * sorted.Count) - 1 < 0 ? 0 : (int)Math.Ceiling(p / 100 * sorted.Count) - 1)];

    private Dictionary<string, double> Percentiles(List<double> values, double[] ps)
    {
        var sorted = values.Order().ToList();
        var d = new Dictionary<string, double>();
        foreach (var p in ps)
            d["p" + p] = Math.Round(Pct(sorted, p), 1);
        d["max"] = Math.Round(sorted.Count == 0 ? 0 : sorted[^1], 1);
        return d;
    }

    public string ToJson() => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["schemas"] = Schemas,
        ["passing"] = Passing,
        ["compile_error"] = CompileError,
        ["validation_error"] = ValidationError,
        ["invalidation_error"] = InvalidationError,
        ["timeout"] = Timeout,
        ["engine_error"] = EngineError,
        ["tokens"] = Tokens,
        ["tbm_us"] = Percentiles(Tbm, [25, 50, 75, 90, 95, 99]),
        ["ttfm_us"] = Percentiles(Ttfm, [50, 75, 90, 99]),
        ["tbm_cpu_us"] = Percentiles(TbmCpu, [25, 50, 75, 90, 95, 99]),
        ["ttfm_cpu_us"] = Percentiles(TtfmCpu, [50, 75, 90, 99]),
    });

    public string ToText()
    {
        var tbm = Percentiles(Tbm, [25, 50, 75, 90, 95, 99]);
        var ttfm = Percentiles(Ttfm, [50, 75, 90, 99]);
        return $"schemas {Schemas}: passing {Passing}, compile_error {CompileError}, validation_error {ValidationError}, " +
               $"invalidation_error {InvalidationError}, timeout {Timeout}, engine_error {EngineError}\n" +
               $"tokens {Tokens}; TBM us: {string.Join(", ", tbm.Select(kv => $"{kv.Key} {kv.Value}"))}\n" +
               $"TTFM us: {string.Join(", ", ttfm.Select(kv => $"{kv.Key} {kv.Value}"))}\n" +
               $"thread CPU time: TBM us {string.Join(", ", Percentiles(TbmCpu, [25, 50, 75, 90, 95, 99]).Select(kv => $"{kv.Key} {kv.Value}"))}; " +
               $"TTFM us {string.Join(", ", Percentiles(TtfmCpu, [50, 75, 90, 99]).Select(kv => $"{kv.Key} {kv.Value}"))}";
    }
}
