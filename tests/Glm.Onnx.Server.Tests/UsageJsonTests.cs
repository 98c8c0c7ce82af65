using System.Text;
using System.Text.Json;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Telemetry;
using Glm.Onnx.Server;

namespace Glm.Onnx.Tests;

/// <summary>The usage object of completions responses, written from counts set by the test.</summary>
public sealed class UsageJsonTests
{
    private static JsonElement Usage(GenerationUsage usage)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            JsonOutput.WriteUsage(w, usage);
            w.WriteEndObject();
        }
        return JsonDocument.Parse(Encoding.UTF8.GetString(buffer.ToArray())).RootElement.GetProperty("usage");
    }

    private static readonly GenerationUsage Plain = new(10, 4, 7, 0, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(30));

    [Fact]
    public void SpeculativeDecodingAddsItsExtensionObject()
    {
        var usage = Usage(Plain with { Speculation = new SpeculationSummary(DraftTokens: 9, VerifySteps: 3, AcceptedPerPosition: [3, 2, 1]) });
        Assert.Equal(7, usage.GetProperty("completion_tokens").GetInt32());
        var s = usage.GetProperty("speculative_decoding");
        Assert.Equal(9, s.GetProperty("draft_tokens").GetInt64());
        Assert.Equal(6, s.GetProperty("accepted_tokens").GetInt64());
        Assert.Equal(3, s.GetProperty("verify_steps").GetInt64());
        Assert.Equal([3L, 2L, 1L], s.GetProperty("accepted_per_position").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(3.0, s.GetProperty("mean_accepted_length").GetDouble()); // (6 accepted + 3 steps) / 3 steps
    }

    [Fact]
    public void WithoutSpeculationTheUsageIsPlainOpenAi()
    {
        var usage = Usage(Plain);
        Assert.False(usage.TryGetProperty("speculative_decoding", out _));
        Assert.Equal(17, usage.GetProperty("total_tokens").GetInt32());
    }
}
