using System.Globalization;
using System.Text;

namespace Glm.Onnx.Checkpoint;

/// <summary>The human-readable <c>glm-convert inspect</c> report: aligned "label: value" lines.</summary>
public static class InspectionText
{
    private const int ListLimit = 20;

    /// <summary>Formats <paramref name="r"/>.</summary>
    public static string Write(InspectionReport r)
    {
        var sb = new StringBuilder();
        var c = r.Config;
        void Line(string label, string value) => sb.Append(CultureInfo.InvariantCulture, $"{label,-28}{value}\n");

        Line("checkpoint", r.Directory);
        Line("status", r.IsComplete ? "complete" : r.Errors.Count > 0 ? "INVALID" : "INCOMPLETE");
        foreach (var e in r.Errors) Line("error", e);
        if (c is not null)
        {
            Line("architecture", $"{(c.Architectures.Count > 0 ? c.Architectures[0] : "?")} ({c.ModelType})");
            Line("layers", $"{c.NumHiddenLayers} + {c.NumNextnPredictLayers} MTP, hidden {c.HiddenSize}, vocab {c.VocabSize}, heads {c.NumAttentionHeads}");
            Line("experts", $"{c.NRoutedExperts} routed, top-{c.NumExpertsPerTok}, {c.NSharedExperts} shared, groups {c.NGroup}/{c.TopkGroup}");
            Line("attention", $"MLA q_lora {c.QLoraRank}, kv_lora {c.KvLoraRank}, qk {c.QkNopeHeadDim}+{c.QkRopeHeadDim}, v {c.VHeadDim}; DSA top-{c.IndexTopK}, {c.IndexNHeads}x{c.IndexHeadDim}");
            Line("quantization", c.Quantization is { } q ? $"{q.QuantMethod} {q.Fmt}, block {q.BlockRows}x{q.BlockCols}" : "none");
        }
        Line("files", $"{r.Files.Count} ({string.Join(", ", r.Files.Take(4).Select(f => f.Name))}{(r.Files.Count > 4 ? ", ..." : "")})");
        Line("parameters total", $"{Count(r.TotalParameters)} (main {Count(r.TotalParameters - r.MtpParameters)}, MTP {Count(r.MtpParameters)})");
        if (c is not null)
        {
            Line("parameters expected", Count(r.ExpectedParameters));
            Line("active per token", Count(r.ActiveParametersPerToken));
            Line("", InspectionReport.ActiveDefinition);
        }
        foreach (var (dtype, n) in r.BytesPerDType) Line($"bytes {dtype.HeaderName()}", Bytes(n));
        if (c is not null)
        {
            Line("full indexer layers", $"{c.FullIndexerLayers.Count}: {Ranges(c.FullIndexerLayers)}");
            Line("shared indexer layers", $"{c.SharedIndexerLayers.Count}: {Ranges(c.SharedIndexerLayers)}");
            Line("dense layers", $"{c.DenseLayers.Count}: {Ranges(c.DenseLayers)}");
            Line("MoE layers", $"{c.MoeLayers.Count}: {Ranges(c.MoeLayers)}");
            if (c.NumNextnPredictLayers > 0) Line("MTP layers", Ranges(c.MtpLayers));
            Line("KV cache per token (bf16)",
                $"{Bytes(r.KvCacheBytesPerToken)} = latent {r.LatentCacheBytesPerToken} B ({c.NumHiddenLayers} x {c.LatentCacheWidth} x 2) + indexer {r.IndexerCacheBytesPerToken} B ({c.FullIndexerLayers.Count} x {c.IndexHeadDim} x 2)");
            Line("missing tensors", r.MissingTensors.Count.ToString(CultureInfo.InvariantCulture));
            List(sb, r.MissingTensors);
            Line("unexpected tensors", r.UnexpectedTensors.Count.ToString(CultureInfo.InvariantCulture));
            List(sb, r.UnexpectedTensors);
            Line("wrong shape", r.WrongShape.Count.ToString(CultureInfo.InvariantCulture));
            List(sb, r.WrongShape.Select(m => $"{m.Name}: expected {m.Expected}, found {m.Found}").ToList());
            Line("wrong dtype", r.WrongDType.Count.ToString(CultureInfo.InvariantCulture));
            List(sb, r.WrongDType.Select(m => $"{m.Name}: expected {m.Expected}, found {m.Found}").ToList());
        }
        return sb.ToString();
    }

    private static void List(StringBuilder sb, IReadOnlyList<string> items)
    {
        foreach (var item in items.Take(ListLimit)) sb.Append("    ").Append(item).Append('\n');
        if (items.Count > ListLimit) sb.Append(CultureInfo.InvariantCulture, $"    ... {items.Count - ListLimit} more (see --json)\n");
    }

    /// <summary>"743,377,019,904 (743.38 B)".</summary>
    private static string Count(long n) => n >= 1_000_000
        ? string.Create(CultureInfo.InvariantCulture, $"{n:N0} ({(n >= 1_000_000_000 ? $"{n / 1e9:F2} B" : $"{n / 1e6:F2} M")})")
        : n.ToString("N0", CultureInfo.InvariantCulture);

    private static string Bytes(long n)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double v = n;
        int u = 0;
        while (v >= 1024 && u < units.Length - 1) { v /= 1024; u++; }
        return u == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{n:N0} B")
            : string.Create(CultureInfo.InvariantCulture, $"{n:N0} B ({v:F2} {units[u]})");
    }

    /// <summary>"0-2, 6, 10, 14" style: runs of consecutive indices collapse, other lists print as is.</summary>
    internal static string Ranges(IReadOnlyList<int> values)
    {
        if (values.Count == 0) return "none";
        var parts = new List<string>();
        for (int i = 0; i < values.Count;)
        {
            int j = i;
            while (j + 1 < values.Count && values[j + 1] == values[j] + 1) j++;
            parts.Add(j > i ? $"{values[i]}-{values[j]}" : values[i].ToString(CultureInfo.InvariantCulture));
            i = j + 1;
        }
        return string.Join(", ", parts);
    }
}
