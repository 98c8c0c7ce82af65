namespace Glm.Onnx.Tests.Fakes;

/// <summary>
/// tests/openai-client with its packages installed once per test run: several tests use it, and two `npm ci` in the
/// same folder at once remove each other's files. The registry is on the network, so a failed install is retried a
/// few times before the test fails (one CI run lost a test to a single failed fetch).
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
            var failures = new List<string>();
            for (var attempt = 1; attempt <= 3 && !_installed; attempt++)
            {
                if (attempt > 1)
                    await Task.Delay(TimeSpan.FromSeconds(5 * attempt));
                var (code, output) = await ProcessRunner.RunAsync(npm, ["ci", "--no-audit", "--no-fund", "--loglevel=error"], Directory);
                if (code == 0)
                    _installed = true;
                else
                    failures.Add($"attempt {attempt}: exit {code}\n{output}");
            }
            Assert.True(_installed, "npm ci failed:\n" + string.Join("\n", failures));
        }
        finally
        {
            Gate.Release();
        }
    }
}
