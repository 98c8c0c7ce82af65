using System.Text.Json;

namespace Glm.Onnx.Checkpoint;

/// <summary>Typed access to the fields of one JSON object; JSON null counts as absent; errors name the dotted field path.</summary>
internal sealed class FieldReader(JsonElement obj, string source, string prefix = "")
{
    public bool Has(string name) => obj.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    public JsonElement Get(string name) => obj.GetProperty(name);

    public FieldReader Object(string name)
    {
        var v = Get(name);
        if (v.ValueKind != JsonValueKind.Object) throw Error(name, $"expected an object, found {v.ValueKind}");
        return new FieldReader(v, source, Path(name) + ".");
    }

    public int RequiredInt(string name) => OptionalInt(name) ?? throw Error(name, "missing required field");

    public long RequiredLong(string name) => OptionalLong(name) ?? throw Error(name, "missing required field");

    public string RequiredString(string name) => OptionalString(name) ?? throw Error(name, "missing required field");

    public int? OptionalInt(string name)
    {
        long? v = OptionalLong(name);
        if (v is null) return null;
        if (v < int.MinValue || v > int.MaxValue) throw Error(name, $"expected a 32-bit integer, found {v}");
        return (int)v;
    }

    public long? OptionalLong(string name)
    {
        if (!Has(name)) return null;
        return AsLong(Get(name), name);
    }

    public double? OptionalDouble(string name)
    {
        if (!Has(name)) return null;
        var v = Get(name);
        if (v.ValueKind != JsonValueKind.Number) throw Error(name, $"expected a number, found {v.ValueKind}");
        return v.GetDouble();
    }

    public bool? OptionalBool(string name)
    {
        if (!Has(name)) return null;
        var v = Get(name);
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(name, $"expected true or false, found {v.ValueKind}"),
        };
    }

    public string? OptionalString(string name)
    {
        if (!Has(name)) return null;
        var v = Get(name);
        if (v.ValueKind != JsonValueKind.String) throw Error(name, $"expected a string, found {v.ValueKind}");
        return v.GetString();
    }

    public IReadOnlyList<string>? OptionalStringList(string name)
    {
        if (!Has(name)) return null;
        var v = Get(name);
        if (v.ValueKind != JsonValueKind.Array) throw Error(name, $"expected a list of strings, found {v.ValueKind}");
        var list = new List<string>();
        int i = 0;
        foreach (var item in v.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String) throw Error($"{name}[{i}]", $"expected a string, found {item.ValueKind}");
            list.Add(item.GetString()!);
            i++;
        }
        return list;
    }

    /// <summary>An integer or a list of integers, returned as a list (eos_token_id, weight_block_size).</summary>
    public IReadOnlyList<long>? OptionalLongOrList(string name)
    {
        if (!Has(name)) return null;
        var v = Get(name);
        if (v.ValueKind == JsonValueKind.Number) return [AsLong(v, name)];
        if (v.ValueKind != JsonValueKind.Array) throw Error(name, $"expected an integer or a list of integers, found {v.ValueKind}");
        var list = new List<long>();
        int i = 0;
        foreach (var item in v.EnumerateArray()) list.Add(AsLong(item, $"{name}[{i++}]"));
        return list;
    }

    private long AsLong(JsonElement v, string name)
    {
        if (v.ValueKind != JsonValueKind.Number) throw Error(name, $"expected an integer, found {v.ValueKind}");
        if (v.TryGetInt64(out long l)) return l;
        // Some writers emit integral values as floats (e.g. 1000000.0); accept those, reject fractions.
        double d = v.GetDouble();
        if (Math.Abs(d) < 9e18 && d == Math.Floor(d)) return (long)d;
        throw Error(name, $"expected an integer, found {v.GetRawText()}");
    }

    private string Path(string name) => prefix + name;

    private CheckpointFormatException Error(string name, string message) => CheckpointFormatException.ForField(source, Path(name), message);
}
