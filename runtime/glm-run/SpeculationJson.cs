using System.Text.Json;
using System.Text.Json.Nodes;
using Glm.Onnx.Runtime.Telemetry;

namespace Glm.Onnx.RunCli;

/// <summary>The speculative decoding counters as a JSON node, for glm-run's serialised outputs (the shape is
/// <see cref="SpeculationSummary.WriteJson"/>'s, shared with the server's usage object).</summary>
internal static class SpeculationJson
{
    public static JsonNode Node(SpeculationSummary summary)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            summary.WriteJson(writer, "s");
            writer.WriteEndObject();
        }
        return JsonNode.Parse(buffer.ToArray())!["s"]!.DeepClone();
    }
}
