using System.Diagnostics;
using System.Text.Json;
using Glm.Onnx.Tests.Fakes;

namespace Glm.Onnx.Tests;

/// <summary>
/// The real glm-run program on the bundled models/glm-tiny-chat checkpoint (converted on first use): generate with
/// a text prompt, chat on a conversation JSON, and serve on a free loopback port.
/// </summary>
public sealed class GlmRunCliTests
{
    private static readonly string ModelDir = Path.Combine(Fixtures.RepoRoot, "models", "glm-tiny-chat");

    // glm-run is built beside this test in the same configuration (see the ProjectReference in the csproj).
    private static string GlmRunDll()
    {
        string configuration = AppContext.BaseDirectory.Contains("/bin/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var dll = Path.Combine(Fixtures.RepoRoot, "runtime", "glm-run", "bin", configuration, "net10.0", "linux-x64", "glm-run.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: build runtime/glm-run");
        return dll;
    }

    private static string Dotnet => ProcessRunner.FindOnPath("dotnet") ?? Path.Combine(Path.GetDirectoryName(Environment.ProcessPath!)!, "dotnet");

    [Fact]
    public async Task GenerateStreamsTextForAChatPrompt()
    {
        var (code, output) = await ProcessRunner.RunAsync(Dotnet,
            [GlmRunDll(), "generate", "--model", ModelDir, "--prompt", "Hello", "--chat", "--max-new-tokens", "6", "--ignore-eos", "--json"],
            Fixtures.RepoRoot, timeoutSeconds: 6000);
        Assert.True(code == 0, output);
        var json = JsonDocument.Parse(output.Split('\n').First(l => l.StartsWith('{'))).RootElement;
        Assert.Equal(6, json.GetProperty("output_ids").GetArrayLength());
        Assert.Equal("length", json.GetProperty("finish_reason").GetString());

        (code, output) = await ProcessRunner.RunAsync(Dotnet,
            [GlmRunDll(), "generate", "--model", ModelDir, "--prompt", "Hello", "--input-ids", "1,2"], Fixtures.RepoRoot, timeoutSeconds: 6000);
        Assert.Equal(2, code);
        Assert.Contains("not both", output);
    }

    /// <summary><c>glm-run bench --json</c> prints one object per pool size with the speculative decoding counters (none drafted here).</summary>
    [Fact]
    public async Task BenchJsonPrintsTheMediansAndTheSpeculationCounters()
    {
        var (code, output) = await ProcessRunner.RunAsync(Dotnet,
            [GlmRunDll(), "bench", "--model", ModelDir, "--prompt-length", "4", "--output-length", "3", "--repeats", "1", "--json"],
            Fixtures.RepoRoot, timeoutSeconds: 6000);
        Assert.True(code == 0, output);
        var json = JsonDocument.Parse(output.Split('\n').Single(l => l.StartsWith('{'))).RootElement;
        Assert.Equal(3, json.GetProperty("output_length").GetInt32());
        Assert.True(json.GetProperty("decode_tokens_per_second").GetDouble() > 0);
        var speculation = json.GetProperty("speculative_decoding");
        Assert.Equal(0, speculation.GetProperty("draft_tokens").GetInt64());
        Assert.Equal(0, speculation.GetProperty("verify_steps").GetInt64());
        Assert.Equal(0, speculation.GetProperty("accepted_per_position").GetArrayLength());
        Assert.Equal(0, speculation.GetProperty("mean_accepted_length").GetDouble());
    }

    /// <summary>
    /// <c>glm-run logits --mtp</c> on glm52-tiny-mtp (converted at fp32 here) writes the teacher-forced MTP draft logits
    /// of the fixture's reference (within 1e-4, same argmax on every row) beside the prompt logits.
    /// </summary>
    [Fact]
    public async Task LogitsWithMtpWritesTheTeacherForcedDraftLogits()
    {
        using var dir = Fixtures.NewTempDir("glm-run-mtp");
        var fixture = Fixtures.GlmDir("glm52-tiny-mtp");
        Glm.Onnx.Converter.Conversion.ModelConverter.Convert(
            new Glm.Onnx.Converter.Conversion.ConvertOptions(fixture, dir.File("model")) { Precision = Glm.Onnx.Converter.TargetPrecision.Fp32 },
            Glm.Onnx.Converter.Conversion.SilentProgress.Instance);
        using var reference = Glm.Onnx.Checkpoint.SafetensorsFile.Open(Path.Combine(fixture, "reference.safetensors"));
        var ids = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(reference.GetBytes("long.input_ids")).ToArray();
        var (code, output) = await ProcessRunner.RunAsync(Dotnet,
            [GlmRunDll(), "logits", "--model", dir.File("model"), "--input-ids", string.Join(',', ids), "--output", dir.File("out.safetensors"), "--mtp"],
            Fixtures.RepoRoot, timeoutSeconds: 6000);
        Assert.True(code == 0, output);

        using var written = Glm.Onnx.Checkpoint.SafetensorsFile.Open(dir.File("out.safetensors"));
        var expected = reference.ReadFloat32("long.mtp_logits");
        var actual = written.ReadFloat32("mtp_logits");
        Assert.Equal(expected.Length, actual.Length);
        const int vocab = 256;
        for (int row = 0; row < expected.Length / vocab; row++)
        {
            var e = expected.AsSpan(row * vocab, vocab);
            var a = actual.AsSpan(row * vocab, vocab);
            for (int v = 0; v < vocab; v++)
                Assert.True(Math.Abs(e[v] - a[v]) <= 1e-4, $"mtp_logits[{row}, {v}] = {a[v]}, reference {e[v]}");
            Assert.Equal(e.IndexOf(RowMax(e)), a.IndexOf(RowMax(a)));
        }
        Assert.Equal(ids.Length * vocab, written.ReadFloat32("logits").Length);
    }

    /// <summary>
    /// <c>--speculative-tokens</c> through the real program on glm52-tiny-mtp: <c>generate --json</c> emits plain
    /// greedy's ids with the request's counters, and <c>bench --json</c> sums the counters of its measured runs, each
    /// consistent with the draft length (at most K drafts and K accepted positions per verify step).
    /// </summary>
    [Fact]
    public async Task SpeculativeTokensReachGenerateAndBenchJson()
    {
        using var dir = Fixtures.NewTempDir("glm-run-mtp");
        Glm.Onnx.Converter.Conversion.ModelConverter.Convert(
            new Glm.Onnx.Converter.Conversion.ConvertOptions(Fixtures.GlmDir("glm52-tiny-mtp"), dir.File("model")) { Precision = Glm.Onnx.Converter.TargetPrecision.Fp32 },
            Glm.Onnx.Converter.Conversion.SilentProgress.Instance);
        async Task<JsonElement> Json(params string[] args)
        {
            var (code, output) = await ProcessRunner.RunAsync(Dotnet, [GlmRunDll(), .. args], Fixtures.RepoRoot, timeoutSeconds: 6000);
            Assert.True(code == 0, output);
            return JsonDocument.Parse(output.Split('\n').Single(l => l.StartsWith('{'))).RootElement;
        }
        static void CheckCounters(JsonElement s, int k)
        {
            long drafts = s.GetProperty("draft_tokens").GetInt64(), steps = s.GetProperty("verify_steps").GetInt64();
            var perPosition = s.GetProperty("accepted_per_position").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            Assert.True(steps > 0 && drafts >= steps && drafts <= k * steps, $"{drafts} drafts in {steps} verify steps at K = {k}");
            Assert.True(perPosition.Length <= k && perPosition.All(n => n > 0 && n <= steps), string.Join(',', perPosition));
            Assert.Equal((perPosition.Sum() + steps) / (double)steps, s.GetProperty("mean_accepted_length").GetDouble(), 3); // printed to 4 decimals
        }

        string[] Generate(int k) => ["generate", "--model", dir.File("model"), "--input-ids", "3,17,101,5,64,9", "--max-new-tokens", "10",
            "--ignore-eos", "--json", "--speculative-tokens", k.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        var plain = await Json(Generate(0));
        Assert.Equal(JsonValueKind.Null, plain.GetProperty("speculative_decoding").ValueKind);
        var speculative = await Json(Generate(3));
        Assert.Equal(plain.GetProperty("output_ids").EnumerateArray().Select(e => e.GetInt32()), speculative.GetProperty("output_ids").EnumerateArray().Select(e => e.GetInt32()));
        CheckCounters(speculative.GetProperty("speculative_decoding"), 3);

        var bench = await Json("bench", "--model", dir.File("model"), "--prompt-length", "6", "--output-length", "8", "--repeats", "2",
            "--speculative-tokens", "2", "--json");
        CheckCounters(bench.GetProperty("speculative_decoding"), 2);
    }

    private static float RowMax(ReadOnlySpan<float> row)
    {
        float max = float.NegativeInfinity;
        foreach (var v in row) max = Math.Max(max, v);
        return max;
    }

    [Fact]
    public async Task GenerateFollowsAJsonSchemaOrAGbnfGrammarFile()
    {
        using var dir = Fixtures.NewTempDir("glm-run-grammar");
        File.WriteAllText(dir.File("schema.json"), """{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"],"additionalProperties":false}""");
        File.WriteAllText(dir.File("yes-no.gbnf"), "root ::= (\"yes\" | \"no\") \".\"\n");
        File.WriteAllText(dir.File("bad.gbnf"), "root ::= missing\n");
        var tokenizer = Glm.Onnx.Runtime.Text.GlmTokenizer.Load(ModelDir);
        string Run(string flag, string file, out string finish, out JsonElement json)
        {
            var (code, output) = ProcessRunner.RunAsync(Dotnet,
                [GlmRunDll(), "generate", "--model", ModelDir, "--prompt", "Hello", "--chat", "--no-thinking", "--max-new-tokens", "40",
                 "--temperature", "1", "--seed", "5", flag, dir.File(file), "--json"], Fixtures.RepoRoot, timeoutSeconds: 6000).GetAwaiter().GetResult();
            Assert.True(code == 0, output);
            json = JsonDocument.Parse(output.Split('\n').First(l => l.StartsWith('{'))).RootElement.Clone();
            finish = json.GetProperty("finish_reason").GetString()!;
            var ids = json.GetProperty("output_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            return tokenizer.Decode(ids, skipSpecialTokens: true);
        }

        var text = Run("--json-schema", "schema.json", out var finish, out var json);
        Assert.Equal("stop", finish);
        Assert.Contains(text, new[] { "{\"ok\":true}", "{\"ok\":false}" });
        Assert.True(json.GetProperty("mask_ms").GetDouble() > 0);
        text = Run("--grammar", "yes-no.gbnf", out finish, out _);
        Assert.Equal("stop", finish);
        Assert.Contains(text, new[] { "yes.", "no." });

        var (badCode, badOutput) = await ProcessRunner.RunAsync(Dotnet,
            [GlmRunDll(), "generate", "--model", ModelDir, "--prompt", "Hello", "--grammar", dir.File("bad.gbnf")], Fixtures.RepoRoot, timeoutSeconds: 6000);
        Assert.Equal(2, badCode);
        Assert.Contains("bad.gbnf", badOutput);
    }

    [Fact]
    public async Task ChatAnswersAConversationJson()
    {
        using var dir = Fixtures.NewTempDir("glm-chat-input");
        File.WriteAllText(dir.File("conversation.json"),
            """{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],"max_tokens":5,"temperature":0}""");
        var (code, output) = await ProcessRunner.RunAsync(Dotnet,
            [GlmRunDll(), "chat", "--model", ModelDir, "--input", dir.File("conversation.json")], Fixtures.RepoRoot, timeoutSeconds: 6000);
        Assert.True(code == 0, output);
        var reply = JsonDocument.Parse(output[output.IndexOf('{')..(output.LastIndexOf('}') + 1)]).RootElement;
        Assert.Equal("assistant", reply.GetProperty("role").GetString());
        Assert.InRange(reply.GetProperty("completion_tokens").GetInt32(), 1, 5);

        File.WriteAllText(dir.File("bad.json"), """{"messages":[{"role":"user","content":"Hi"}],"temperature":9}""");
        (code, output) = await ProcessRunner.RunAsync(Dotnet,
            [GlmRunDll(), "chat", "--model", ModelDir, "--input", dir.File("bad.json")], Fixtures.RepoRoot, timeoutSeconds: 6000);
        Assert.Equal(2, code);
        Assert.Contains("'temperature' must be between 0 and 2", output);
    }

    [Fact]
    public async Task ServeListensOnAFreeLoopbackPortAndAnswers()
    {
        var start = new ProcessStartInfo(Dotnet)
        {
            WorkingDirectory = Fixtures.RepoRoot, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in new[] { GlmRunDll(), "serve", "--model", ModelDir, "--urls", "http://127.0.0.1:0", "--model-id", "tiny", "--api-key", "k" })
            start.ArgumentList.Add(a);
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
                return;
            log.Enqueue(e.Data);
            int at = e.Data.IndexOf("listening on ", StringComparison.Ordinal);
            if (at >= 0)
                listening.TrySetResult(e.Data[(at + "listening on ".Length)..].Split(',')[0].Trim());
        };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            string? address = await listening.Task.WaitAsync(TimeSpan.FromMinutes(10)).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null);
            Assert.True(address is not null, "glm-run serve did not report its address:\n" + string.Join('\n', log));
            Assert.StartsWith("http://127.0.0.1:", address);
            using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromMinutes(10) };
            Assert.Equal(200, (int)(await http.GetAsync("/health")).StatusCode);
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = ServerHarness.Json("""{"model":"tiny","messages":[{"role":"user","content":"Hi"}],"max_tokens":4,"temperature":0}"""),
            };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "k");
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, body);
            Assert.Equal("chat.completion", JsonDocument.Parse(body).RootElement.GetProperty("object").GetString());

            // Operators' view: the startup banner and one line per request on stderr, the gauges on /metrics.
            // The console logger writes from its own queue: wait (bounded) for the request's line.
            for (int i = 0; i < 100 && !log.Any(l => l.Contains("request 1 finished (length)")); i++)
                await Task.Delay(50);
            Assert.Contains(log, l => l.Contains("serving 'tiny' from ") && l.Contains("precision fp32") && l.Contains("KV cache "));
            Assert.Contains(log, l => l.Contains("request 1 finished (length)") && l.Contains("output 4 tokens") && l.Contains("queue ") && l.Contains("ttft "));
            var metrics = await http.GetStringAsync("/metrics");
            Assert.Contains("glm_generation_tokens_total{otel_scope_name=\"Glm.Onnx.Runtime\",model_name=\"tiny\"} 4", metrics);
            Assert.Equal(200, (int)(await http.GetAsync("/health/ready")).StatusCode);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [Theory]
    [InlineData("--api-key", "", "API key is empty")]
    [InlineData("--urls", "localhost:8000", "not a listen address")]
    [InlineData("--urls", "http://127.0.0.1:8000/v1?x=1", "not a listen address")]
    [InlineData("--speculative-tokens", "2", "no MTP stage to draft with")]
    public async Task ServeRefusesBadOptionsWithOneLine(string option, string value, string phrase)
    {
        var (code, output) = await ProcessRunner.RunAsync(Dotnet, [GlmRunDll(), "serve", "--model", ModelDir, option, value], Fixtures.RepoRoot, timeoutSeconds: 6000);
        Assert.Equal(2, code);
        Assert.Contains(phrase, output);
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public async Task ACacheLargerThanMemoryIsRefusedWithOneLine()
    {
        long twiceMemoryMb = 2 * (GC.GetGCMemoryInfo().TotalAvailableMemoryBytes >> 20);
        var (code, output) = await ProcessRunner.RunAsync(Dotnet,
            [GlmRunDll(), "generate", "--model", ModelDir, "--prompt", "Hello", "--max-new-tokens", "1", "--cache-mb", twiceMemoryMb.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            Fixtures.RepoRoot, timeoutSeconds: 6000);
        Assert.Equal(2, code);
        Assert.Contains("--cache-mb", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public async Task TokenizeCanEncodeControlTokenTextAsPlainText()
    {
        var (code, matched) = await ProcessRunner.RunAsync(Dotnet,
            [GlmRunDll(), "tokenize", "--tokenizer", ModelDir, "--text", "<|user|>hi", "--json"], Fixtures.RepoRoot, timeoutSeconds: 600);
        Assert.True(code == 0, matched);
        var (code2, plain) = await ProcessRunner.RunAsync(Dotnet,
            [GlmRunDll(), "tokenize", "--tokenizer", ModelDir, "--text", "<|user|>hi", "--special-as-text", "--json"], Fixtures.RepoRoot, timeoutSeconds: 600);
        Assert.True(code2 == 0, plain);
        int[] Ids(string output) => JsonDocument.Parse(output.Split('\n').First(l => l.StartsWith('{'))).RootElement
            .GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var user = JsonDocument.Parse(File.ReadAllText(Path.Combine(ModelDir, "tokenizer.json"))).RootElement.GetProperty("added_tokens")
            .EnumerateArray().First(t => t.GetProperty("content").GetString() == "<|user|>").GetProperty("id").GetInt32();
        Assert.Equal(user, Ids(matched)[0]);
        Assert.DoesNotContain(user, Ids(plain));
        Assert.True(Ids(plain).Length > Ids(matched).Length);
    }
}
