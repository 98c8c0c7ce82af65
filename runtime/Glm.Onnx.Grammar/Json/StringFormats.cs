using Glm.Onnx.Grammar.Regex;

namespace Glm.Onnx.Grammar.Json;

/// <summary>JSON Schema <c>format</c> values as anchored ECMA patterns over the string's characters.</summary>
internal static class StringFormats
{
    private const string MonthDay =
        "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-9]))";
    private const string Date = "[0-9]{4}-" + MonthDay;
    private const string Time = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\\.[0-9]+)?(?:[zZ]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])";
    private const string Octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
    private const string Ipv4 = "(?:" + Octet + "\\.){3}" + Octet;
    private const string H = "[0-9A-Fa-f]{1,4}";
    private const string Ipv6 =
        "(?:(?:" + H + ":){7}" + H +
        "|(?:" + H + ":){1,7}:" +
        "|(?:" + H + ":){1,6}:" + H +
        "|(?:" + H + ":){1,5}(?::" + H + "){1,2}" +
        "|(?:" + H + ":){1,4}(?::" + H + "){1,3}" +
        "|(?:" + H + ":){1,3}(?::" + H + "){1,4}" +
        "|(?:" + H + ":){1,2}(?::" + H + "){1,5}" +
        "|" + H + ":(?::" + H + "){1,6}" +
        "|:(?:(?::" + H + "){1,7}|:)" +
        "|(?:" + H + ":){6}" + Ipv4 +
        "|::(?:ffff(?::0{1,4})?:)?" + Ipv4 +
        "|(?:" + H + ":){1,4}:" + Ipv4 + ")";
    private const string Label = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";

    private static readonly Dictionary<string, string> Patterns = new()
    {
        ["date"] = Date,
        ["time"] = Time,
        ["date-time"] = Date + "[Tt]" + Time,
        ["uuid"] = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        ["email"] = "[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@" + Label + "(?:\\." + Label + ")*",
        ["hostname"] = Label + "(?:\\." + Label + ")*",
        ["ipv4"] = Ipv4,
        ["ipv6"] = Ipv6,
        ["uri"] = "[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9\\-._~!$&'()*+,;=:@/?#\\[\\]]|%[0-9A-Fa-f]{2})*",
    };

    public static IEnumerable<string> Supported => Patterns.Keys;

    /// <summary>Formats some JSON Schema draft defines: those not supported are a compile error; any other name is an
    /// annotation no validator checks, so it constrains nothing.</summary>
    public static bool IsStandard(string format) => format is "date-time" or "date" or "time" or "duration" or "email"
        or "idn-email" or "hostname" or "idn-hostname" or "ipv4" or "ipv6" or "uri" or "uri-reference" or "iri"
        or "iri-reference" or "uuid" or "uri-template" or "json-pointer" or "relative-json-pointer" or "regex"
        or "color" or "host-name" or "ip-address" or "utc-millisec" or "style" or "phone";

    /// <summary>The body regex for a format, or null when the format is not supported.</summary>
    public static int? Compile(RegexBuilder rx, string format) =>
        Patterns.TryGetValue(format, out var p) ? EcmaPattern.CompileAnchored(rx, p) : null;
}
