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
            Fixtures.RepoRoot, timeoutSeconds: 120);
        Assert.True(code == 0, output);
        var json = JsonDocument.Parse(output.Split('\n').First(l => l.StartsWith('{'))).RootElement;
        Assert.Equal(6, json.GetProperty("output_ids").GetArrayLength());
        Assert.Equal("length", json.GetProperty("finish_reason").GetString());

        (code, output) = await ProcessRunner.RunAsync(Dotnet,
            [GlmRunDll(), "generate", "--model", ModelDir, "--prompt", "Hello", "--input-ids", "1,2"], Fixtures.RepoRoot, timeoutSeconds: 120);
        Assert.Equal(2, code);
        Assert.Contains("not both", output);
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
                 "--temperature", "1", "--seed", "5", flag, dir.File(file), "--json"], Fixtures.RepoRoot, timeoutSeconds: 120).GetAwaiter().GetResult();
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
            [GlmRunDll(), "generate", "--model", ModelDir, "--prompt", "Hello", "--grammar", dir.File("bad.gbnf")], Fixtures.RepoRoot, timeoutSeconds: 120);
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
            [GlmRunDll(), "chat", "--model", ModelDir, "--input", dir.File("conversation.json")], Fixtures.RepoRoot, timeoutSeconds: 120);
        Assert.True(code == 0, output);
        var reply = JsonDocument.Parse(output[output.IndexOf('{')..(output.LastIndexOf('}') + 1)]).RootElement;
        Assert.Equal("assistant", reply.GetProperty("role").GetString());
        Assert.InRange(reply.GetProperty("completion_tokens").GetInt32(), 1, 5);

        File.WriteAllText(dir.File("bad.json"), """{"messages":[{"role":"user","content":"Hi"}],"temperature":9}""");
        (code, output) = await ProcessRunner.RunAsync(Dotnet,
            [GlmRunDll(), "chat", "--model", ModelDir, "--input", dir.File("bad.json")], Fixtures.RepoRoot, timeoutSeconds: 120);
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
            string? address = await listening.Task.WaitAsync(TimeSpan.FromSeconds(40)).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null);
            Assert.True(address is not null, "glm-run serve did not report its address:\n" + string.Join('\n', log));
            Assert.StartsWith("http://127.0.0.1:", address);
            using var http = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(20) };
            Assert.Equal(200, (int)(await http.GetAsync("/health")).StatusCode);
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
            {
                Content = ServerHarness.Json("""{"model":"tiny","messages":[{"role":"user","content":"Hi"}],"max_tokens":4}"""),
            };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "k");
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, body);
            Assert.Equal("chat.completion", JsonDocument.Parse(body).RootElement.GetProperty("object").GetString());
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }
}
