using System.Text.Json;
using System.Text.RegularExpressions;

namespace Glm.Onnx.Runtime.Text;

/// <summary>Compiles a tokenizer.json pattern object ({"Regex": ...} or {"String": ...}) into a .NET regex.</summary>
internal static class SplitPattern
{
    public static Regex Compile(JsonElement pattern, string file, string path)
    {
        if (pattern.ValueKind == JsonValueKind.Object)
        {
            if (pattern.TryGetProperty("Regex", out var regex) && regex.ValueKind == JsonValueKind.String)
                return Build(regex.GetString()!, file, path + ".Regex");
            if (pattern.TryGetProperty("String", out var literal) && literal.ValueKind == JsonValueKind.String)
                return Build(Regex.Escape(literal.GetString()!), file, path + ".String");
        }

        throw new TokenizerFormatException(
            $"{file}: '{path}' must be {{\"Regex\": \"...\"}} or {{\"String\": \"...\"}}, found {pattern.GetRawText()}");
    }

    public static Regex Build(string pattern, string file, string path)
    {
        try
        {
            return new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);
        }
        catch (ArgumentException e)
        {
            throw new TokenizerFormatException($"{file}: '{path}' is not a valid regular expression: {e.Message}", e);
        }
    }
}
