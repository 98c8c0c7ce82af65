namespace Glm.Onnx.Tests.Fakes;

/// <summary>
/// tests/openai-client with its packages installed once per test run: several tests use it, and two `npm ci` in the
/// same folder at once remove each other's files.
/// </summary>
public static class OpenAiNpmClient
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static bool _installed;

    public static string Directory => Path.Combine(Fixtures.RepoRoot, "tests", "openai-client");

    public static async Task InstallAsync()
    {
        var npm = ProcessRunner.Require("npm");
        await Gate.WaitAsync();
        try
        {
            if (_installed)
                return;
            var (code, output) = await ProcessRunner.RunAsync(npm, ["ci", "--no-audit", "--no-fund", "--loglevel=error"], Directory);
            Assert.True(code == 0, $"npm ci failed ({code}):\n{output}");
            _installed = true;
        }
        finally
        {
            Gate.Release();
        }
    }
}
