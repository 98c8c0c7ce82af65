using System.Globalization;
using System.Text;

namespace Glm.Onnx.Tests.Fakes;

/// <summary>One sample of a Prometheus text exposition: metric name, labels, value.</summary>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>
/// Reads the Prometheus text format (version 0.0.4) as a scraper does: '#' lines are comments or metadata, every other
/// non-empty line is <c>name{label="value",...} value [timestamp]</c>. Written here from the format's definition so a
/// test checks the server's output, not the exporter's own reading of it.
/// </summary>
public static class PrometheusText
{
    public static List<PrometheusSample> Parse(string text)
    {
        var samples = new List<PrometheusSample>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#')
                continue;
            int i = 0;
            while (i < line.Length && line[i] != '{' && line[i] != ' ')
                i++;
            string name = line[..i];
            var labels = new Dictionary<string, string>();
            if (i < line.Length && line[i] == '{')
            {
                i++;
                while (line[i] != '}')
                {
                    int eq = line.IndexOf('=', i);
                    string key = line[i..eq].Trim();
                    i = eq + 1;
                    if (line[i] != '"')
                        throw new FormatException($"Label {key} of '{line}' has no quoted value.");
                    i++;
                    var value = new StringBuilder();
                    while (line[i] != '"')
                    {
                        if (line[i] == '\\')
                        {
                            i++;
                            value.Append(line[i] == 'n' ? '\n' : line[i]);
                        }
                        else
                            value.Append(line[i]);
                        i++;
                    }
                    labels[key] = value.ToString();
                    i++;
                    if (line[i] == ',')
                        i++;
                }
                i++;
            }
            var fields = line[i..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            samples.Add(new PrometheusSample(name, labels, ParseValue(fields[0])));
        }
        return samples;
    }

    private static double ParseValue(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };
}

/// <summary>A parsed scrape, filtered to one model's series.</summary>
public sealed class Scrape(List<PrometheusSample> samples, string model)
{
    public List<PrometheusSample> Samples { get; } = samples;

    /// <summary>The one sample of <paramref name="name"/> for the model (and the extra label, when given).</summary>
    public double Value(string name, string? label = null, string? labelValue = null)
    {
        var matches = Samples.Where(s => s.Name == name && s.Labels.TryGetValue("model_name", out var m) && m == model &&
            (label is null || (s.Labels.TryGetValue(label, out var v) && v == labelValue))).ToList();
        Assert.True(matches.Count == 1, $"expected one sample of {name} for model {model} ({label}={labelValue}), found {matches.Count}:\n" +
            string.Join('\n', Samples.Where(s => s.Name.StartsWith("glm_", StringComparison.Ordinal)).Select(s => $"{s.Name} {string.Join(',', s.Labels)} {s.Value}")));
        return matches[0].Value;
    }

    public static async Task<Scrape> TakeAsync(HttpClient http, string model)
    {
        using var response = await http.GetAsync("/metrics");
        Assert.Equal(200, (int)response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType ?? "");
        return new Scrape(PrometheusText.Parse(await response.Content.ReadAsStringAsync()), model);
    }
}
