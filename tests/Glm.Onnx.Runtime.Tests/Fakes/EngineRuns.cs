using Glm.Onnx.Runtime.Engine;

namespace Glm.Onnx.Tests.Fakes;

/// <summary>Runs one request through an engine to its end and returns every token it produced.</summary>
public static class EngineRuns
{
    // Generous: the machine running the tests may be loaded; the limit only turns a hang into a failure.
    private static readonly TimeSpan HangLimit = TimeSpan.FromMinutes(10);

    public static async Task<List<GeneratedToken>> Collect(GenerationEngine engine, GenerationRequest request)
    {
        async Task<List<GeneratedToken>> Run()
        {
            var tokens = new List<GeneratedToken>();
            await foreach (var token in engine.GenerateAsync(request))
                tokens.Add(token);
            return tokens;
        }
        return await Run().WaitAsync(HangLimit);
    }
}
