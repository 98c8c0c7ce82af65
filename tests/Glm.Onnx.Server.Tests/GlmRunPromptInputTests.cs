using System.Text;
using System.Text.Json;
using Glm.Onnx.Tests.Fakes;

namespace Glm.Onnx.Tests;

/// <summary>
/// glm-run generate's long-input options on models/glm-tiny-chat: --input-ids @FILE (whitespace or commas),
/// --prompt-file FILE and --prompt-file - (stdin), each against the same prompt given inline, a prompt file too big
/// for an argument, and the errors that name the file.
/// </summary>
public sealed class GlmRunPromptInputTests
{
    private static readonly string ModelDir = Path.Combine(Fixtures.RepoRoot, "models", "glm-tiny-chat");

    private static string GlmRunDll()
    {
        string configuration = AppContext.BaseDirectory.Contains("/bin/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var dll = Path.Combine(Fixtures.RepoRoot, "runtime", "glm-run", "bin", configuration, "net10.0", "linux-x64", "glm-run.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: build runtime/glm-run");
        return dll;
    }

    private static string Dotnet => ProcessRunner.FindOnPath("dotnet") ?? Path.Combine(Path.GetDirectoryName(Environment.ProcessPath!)!, "dotnet");

    private static Task<(int ExitCode, string Output)> Generate(string[] prompt, string? standardInput = null, int maxNewTokens = 4) =>
        ProcessRunner.RunAsync(Dotnet,
            [GlmRunDll(), "generate", "--model", ModelDir, .. prompt, "--max-new-tokens", maxNewTokens.ToString(System.Globalization.CultureInfo.InvariantCulture), "--ignore-eos", "--json"],
            Fixtures.RepoRoot, timeoutSeconds: 600, standardInput: standardInput);

    private static JsonElement Result((int ExitCode, string Output) run)
    {
        Assert.True(run.ExitCode == 0, run.Output);
        return JsonDocument.Parse(run.Output.Split('\n').Single(line => line.StartsWith('{'))).RootElement;
    }

    private static int[] OutputIds(JsonElement result) => result.GetProperty("output_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();

    [Fact]
    public async Task InputIdsFromAFileAreTheSamePromptAsInlineIds()
    {
        using var dir = Fixtures.NewTempDir("glm-ids-file");
        // Mixed separators: spaces, a tab, commas, blank line, CRLF.
        File.WriteAllText(dir.File("ids.txt"), "247 80\r\n\n101,222\t215 ,127\n");
        var inline = Result(await Generate(["--input-ids", "247,80,101,222,215,127"]));
        var fromFile = Result(await Generate(["--input-ids", "@" + dir.File("ids.txt")]));
        Assert.Equal(6, fromFile.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(OutputIds(inline), OutputIds(fromFile));
    }

    [Fact]
    public async Task PromptFileAndStdinAreTheSamePromptAsInlineText()
    {
        using var dir = Fixtures.NewTempDir("glm-prompt-file");
        const string text = "Hello, world";
        File.WriteAllText(dir.File("prompt.txt"), text);
        var inline = Result(await Generate(["--prompt", text]));
        var fromFile = Result(await Generate(["--prompt-file", dir.File("prompt.txt")]));
        var fromStdin = Result(await Generate(["--prompt-file", "-"], standardInput: text));
        Assert.Equal(inline.GetProperty("prompt_tokens").GetInt32(), fromFile.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(OutputIds(inline), OutputIds(fromFile));
        Assert.Equal(OutputIds(inline), OutputIds(fromStdin));
    }

    [Fact]
    public async Task AnIdFileLargerThanAnyArgumentReachesTheEngineWhole()
    {
        // Linux caps one argument at 128 KiB (a 64K-token id list is ~400 KB). 3,000 ids stay inside the tiny model's
        // 4,096 positions; wide separators take the file past the cap all the same.
        using var dir = Fixtures.NewTempDir("glm-long-ids");
        var text = new StringBuilder();
        for (int i = 0; i < 3000; i++)
            text.Append((i * 7 % 250) + 20).Append(i % 100 == 99 ? "\n" : new string(' ', 48));
        File.WriteAllText(dir.File("ids.txt"), text.ToString());
        Assert.True(new FileInfo(dir.File("ids.txt")).Length > 128 * 1024);
        var result = Result(await Generate(["--input-ids", "@" + dir.File("ids.txt")], maxNewTokens: 2));
        Assert.Equal(3000, result.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(2, OutputIds(result).Length);
    }

    [Fact]
    public async Task BadFilesFailAtOnceNamingTheFile()
    {
        using var dir = Fixtures.NewTempDir("glm-bad-input");
        var missing = dir.File("missing-ids.txt");
        var (code, output) = await Generate(["--input-ids", "@" + missing]);
        Assert.Equal(2, code);
        Assert.Contains($"--input-ids: file '{missing}' not found", output);

        File.WriteAllText(dir.File("bad-ids.txt"), "1 2 3\n4, x5, 6\n");
        (code, output) = await Generate(["--input-ids", "@" + dir.File("bad-ids.txt")]);
        Assert.Equal(2, code);
        Assert.Contains($"'{dir.File("bad-ids.txt")}' line 2: 'x5' is not a token id", output);

        File.WriteAllText(dir.File("negative-ids.txt"), "1 -2");
        (code, output) = await Generate(["--input-ids", "@" + dir.File("negative-ids.txt")]);
        Assert.Equal(2, code);
        Assert.Contains($"'{dir.File("negative-ids.txt")}' line 1: '-2' is not a token id", output);

        File.WriteAllText(dir.File("empty-ids.txt"), " \n,\n");
        (code, output) = await Generate(["--input-ids", "@" + dir.File("empty-ids.txt")]);
        Assert.Equal(2, code);
        Assert.Contains($"'{dir.File("empty-ids.txt")}' holds no token ids", output);

        var missingPrompt = dir.File("missing-prompt.txt");
        (code, output) = await Generate(["--prompt-file", missingPrompt]);
        Assert.Equal(2, code);
        Assert.Contains($"--prompt-file: file '{missingPrompt}' not found", output);

        (code, output) = await Generate(["--prompt-file", "-"], standardInput: "");
        Assert.Equal(2, code);
        Assert.Contains("standard input is empty", output);

        (code, output) = await Generate(["--prompt-file", missingPrompt, "--input-ids", "1,2"]);
        Assert.Equal(2, code);
        Assert.Contains("give --prompt-file or --input-ids, not both", output);
        Assert.DoesNotContain("   at ", output); // a message, not a stack trace
    }
}
