using System.Text.Json;
using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.Tests.Text;

/// <summary>The two fixture tokenizers, loaded once per test run (loading parses ~7 MB of JSON each).</summary>
public static class FixtureTokenizers
{
    public static readonly string[] Names = ["qwen3", "deepseek_v3"];

    private static readonly Dictionary<string, Lazy<GlmTokenizer>> Loaded = Names.ToDictionary(
        n => n, n => new Lazy<GlmTokenizer>(() => GlmTokenizer.Load(Fixtures.TokenizerDir(n))));

    public static GlmTokenizer Get(string name) => Loaded[name].Value;

    public static IReadOnlyList<OracleCase> OracleCases(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Fixtures.TokenizerDir(name), "oracle_visible.json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray()
            .Select(c => new OracleCase(
                c.GetProperty("text").GetString()!,
                c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                c.GetProperty("decoded").GetString()!))
            .ToList();
    }

    public static TheoryData<string> NameData() => new(Names);
}

public sealed record OracleCase(string Text, int[] Ids, string Decoded);
