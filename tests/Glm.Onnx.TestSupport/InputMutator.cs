using System.Text;
using System.Text.Json.Nodes;

namespace Glm.Onnx.Tests;

/// <summary>
/// Seeded random mutations of valid inputs for the fuzz tests: byte-level (flip, insert, delete, duplicate, splice in
/// JSON-ish fragments) and structure-aware for JSON (replace a value with one of another type or an extreme one,
/// drop or duplicate members, shorten arrays). The same seed gives the same cases, so a failure reproduces.
/// </summary>
public sealed class InputMutator(int seed)
{
    private static readonly string[] Fragments =
    [
        "\"", "{", "}", "[", "]", ":", ",", "null", "true", "-1", "0", "1e309", "-9223372036854775809", "18446744073709551616",
        "\"\\ud800\"", "\"\\u0000\"", "1.5", "[]", "{}", "\"\"", "2147483648", "-2147483649", "\\", "\"a\":", "NaN",
    ];

    private const string JsonPunctuation = "\"{}[]:,0-9e\\";

    private readonly Random _random = new(seed);

    public int Next(int max) => _random.Next(max);

    /// <summary>One to four byte-level edits of <paramref name="input"/>.</summary>
    public byte[] MutateBytes(byte[] input)
    {
        var bytes = new List<byte>(input);
        int edits = 1 + _random.Next(4);
        for (int e = 0; e < edits; e++)
        {
            int at = bytes.Count == 0 ? 0 : _random.Next(bytes.Count);
            switch (_random.Next(6))
            {
                case 0 when bytes.Count > 0:
                    bytes[at] ^= (byte)(1 << _random.Next(8));
                    break;
                case 1:
                    bytes.Insert(at, (byte)_random.Next(256));
                    break;
                case 2 when bytes.Count > 0:
                    bytes.RemoveRange(at, Math.Min(bytes.Count - at, 1 + _random.Next(16)));
                    break;
                case 3 when bytes.Count > 0:
                    int len = Math.Min(bytes.Count - at, 1 + _random.Next(32));
                    bytes.InsertRange(_random.Next(bytes.Count), bytes.GetRange(at, len));
                    break;
                case 4:
                    bytes.InsertRange(at, Encoding.UTF8.GetBytes(Fragments[_random.Next(Fragments.Length)]));
                    break;
                default:
                    if (bytes.Count > 0)
                        bytes[at] = (byte)JsonPunctuation[_random.Next(JsonPunctuation.Length)];
                    break;
            }
        }

        return [.. bytes];
    }

    /// <summary>One to three structural edits of a JSON document (a deep copy; the input is not changed).</summary>
    public JsonNode MutateJson(JsonNode input)
    {
        var root = input.DeepClone();
        int edits = 1 + _random.Next(3);
        for (int e = 0; e < edits; e++)
        {
            var nodes = new List<JsonNode>();
            Collect(root, nodes);
            var target = nodes[_random.Next(nodes.Count)];
            switch (target)
            {
                case JsonObject obj when obj.Count > 0 && _random.Next(3) == 0:
                    obj.Remove(obj.ElementAt(_random.Next(obj.Count)).Key);
                    break;
                case JsonArray array when array.Count > 0 && _random.Next(3) == 0:
                    array.RemoveAt(_random.Next(array.Count));
                    break;
                case JsonArray array when array.Count > 0 && _random.Next(3) == 0:
                    array.Add(array[_random.Next(array.Count)]?.DeepClone());
                    break;
                default:
                    Replace(target, RandomValue());
                    break;
            }
        }

        return root;
    }

    private static void Collect(JsonNode? node, List<JsonNode> into)
    {
        if (node is null)
            return;
        into.Add(node);
        if (node is JsonObject obj)
            foreach (var (_, child) in obj)
                Collect(child, into);
        else if (node is JsonArray array)
            foreach (var child in array)
                Collect(child, into);
    }

    private static void Replace(JsonNode target, JsonNode? value)
    {
        switch (target.Parent)
        {
            case JsonObject parent:
                parent[target.GetPropertyName()] = value;
                break;
            case JsonArray parent:
                parent[target.GetElementIndex()] = value;
                break;
        }
    }

    private JsonNode? RandomValue() => _random.Next(14) switch
    {
        0 => null,
        1 => JsonValue.Create(_random.Next(2) == 0),
        2 => JsonValue.Create(-1),
        3 => JsonValue.Create(0),
        4 => JsonValue.Create(long.MaxValue),
        5 => JsonValue.Create(1e300),
        6 => JsonValue.Create(-0.5),
        7 => JsonValue.Create(""),
        8 => JsonValue.Create("\ud800"),
        9 => JsonValue.Create(new string('x', 1 + _random.Next(64))),
        10 => new JsonArray(),
        11 => new JsonObject(),
        12 => new JsonArray(JsonValue.Create(1), JsonValue.Create("a"), null),
        _ => JsonValue.Create(_random.Next(int.MinValue, int.MaxValue)),
    };
}
