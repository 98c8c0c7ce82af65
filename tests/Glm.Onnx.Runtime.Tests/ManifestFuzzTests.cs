using System.Text;
using System.Text.Json.Nodes;
using Glm.Onnx.Contracts.Manifest;

namespace Glm.Onnx.Tests;

/// <summary>
/// Seeded random mutations of a real manifest: ModelManifestJson.Parse either accepts it or throws
/// <see cref="InvalidDataException"/> naming the file, never another exception.
/// </summary>
public sealed class ManifestFuzzTests(ConvertedFixtures converted) : IClassFixture<ConvertedFixtures>
{
    [Fact]
    public void ManifestReaderOnlyThrowsNamedErrors()
    {
        var seed = File.ReadAllText(Path.Combine(converted.Artifacts("glm52-tiny"), ModelManifest.FileName));
        var structure = JsonNode.Parse(seed)!;
        var mutator = new InputMutator(11);
        var failures = new List<string>();
        for (int i = 0; i < 1500; i++)
        {
            string input = i % 4 == 3
                ? Encoding.UTF8.GetString(mutator.MutateBytes(Encoding.UTF8.GetBytes(seed)))
                : mutator.MutateJson(structure).ToJsonString();
            try
            {
                ModelManifestJson.Parse(input, "fuzz/glm-model.json");
            }
            catch (InvalidDataException e)
            {
                Assert.Contains("fuzz/glm-model.json", e.Message);
            }
            catch (Exception e) when (failures.Count < 10)
            {
                failures.Add($"case {i}: {e.GetType().Name}: {e.Message}\n  {e.StackTrace?.Split('\n')[0].Trim()}\n  input: {input[..Math.Min(300, input.Length)]}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
