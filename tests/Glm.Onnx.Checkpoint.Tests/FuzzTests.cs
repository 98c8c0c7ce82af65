using System.Text;
using System.Text.Json.Nodes;
using Glm.Onnx.Checkpoint;
using Glm.Onnx.Tests;

namespace Glm.Onnx.Checkpoint.Tests;

/// <summary>
/// Seeded random mutations of real headers and configs: every outcome is a parse or a
/// <see cref="CheckpointFormatException"/>, never another exception (which would reach the CLI as a stack trace).
/// </summary>
public sealed class FuzzTests
{
    private const int Seed = 11;

    private static (byte[] Json, long DataLength) RealHeader()
    {
        var bytes = File.ReadAllBytes(Path.Combine(Fixtures.GlmDir("glm52-tiny"), "model.safetensors"));
        long length = (long)BitConverter.ToUInt64(bytes, 0);
        return (bytes[8..(8 + (int)length)], bytes.Length - 8 - length);
    }

    [Fact]
    public void SafetensorsHeaderReaderOnlyThrowsNamedErrors()
    {
        var (header, dataLength) = RealHeader();
        var structure = JsonNode.Parse(header)!;
        var mutator = new InputMutator(Seed);
        var failures = new List<string>();
        for (int i = 0; i < 1500; i++)
        {
            byte[] input = i % 2 == 0 ? mutator.MutateBytes(header) : Encoding.UTF8.GetBytes(mutator.MutateJson(structure).ToJsonString());
            try
            {
                SafetensorsHeader.Parse(input, "fuzz.safetensors", 8 + input.Length, dataLength);
            }
            catch (CheckpointFormatException)
            {
            }
            catch (Exception e) when (failures.Count < 10)
            {
                failures.Add($"case {i}: {e.GetType().Name}: {e.Message}\n  input: {Encoding.UTF8.GetString(input)[..Math.Min(300, input.Length)]}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void ConfigBinderOnlyThrowsNamedErrors()
    {
        string[] seeds =
        [
            File.ReadAllText(Path.Combine(Fixtures.GlmDir("glm52-tiny"), "config.json")),
            JsonNode.Parse(File.ReadAllText(Fixtures.RealLayoutPath))!["config"]!.ToJsonString(),
        ];
        var mutator = new InputMutator(Seed);
        var failures = new List<string>();
        for (int i = 0; i < 1500; i++)
        {
            var seed = seeds[i % seeds.Length];
            string input = i % 4 == 3
                ? Encoding.UTF8.GetString(mutator.MutateBytes(Encoding.UTF8.GetBytes(seed)))
                : mutator.MutateJson(JsonNode.Parse(seed)!).ToJsonString();
            try
            {
                GlmConfig.Parse(input, "fuzz-config.json");
            }
            catch (CheckpointFormatException)
            {
            }
            catch (Exception e) when (failures.Count < 10)
            {
                failures.Add($"case {i}: {e.GetType().Name}: {e.Message}\n  input: {input[..Math.Min(400, input.Length)]}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
