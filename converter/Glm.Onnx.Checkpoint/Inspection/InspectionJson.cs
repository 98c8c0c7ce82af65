using System.Text;
using System.Text.Json;

namespace Glm.Onnx.Checkpoint;

/// <summary>
/// The <c>glm-convert inspect --json</c> document: one object with <c>parameters.total</c>,
/// <c>parameters.active_per_token</c>, <c>layers.full_indexer</c>, <c>kv_cache.bytes_per_token_bf16</c>,
/// <c>missing_tensors</c>, <c>unexpected_tensors</c> and more (see <see cref="Write"/>).
/// </summary>
public static class InspectionJson
{
    /// <summary>Serialises <paramref name="r"/> (indented, snake_case keys).</summary>
    public static string Write(InspectionReport r)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            var c = r.Config;
            w.WriteStartObject();
            w.WriteString("directory", r.Directory);
            w.WriteBoolean("complete", r.IsComplete);
            Strings(w, "errors", r.Errors);
            if (c is null) w.WriteNull("architecture");
            else w.WriteString("architecture", c.Architectures.Count > 0 ? c.Architectures[0] : c.ModelType);
            w.WriteString("model_type", c?.ModelType);

            if (c is not null)
            {
                w.WriteStartObject("config");
                w.WriteNumber("num_hidden_layers", c.NumHiddenLayers);
                w.WriteNumber("num_nextn_predict_layers", c.NumNextnPredictLayers);
                w.WriteNumber("hidden_size", c.HiddenSize);
                w.WriteNumber("vocab_size", c.VocabSize);
                w.WriteNumber("num_attention_heads", c.NumAttentionHeads);
                w.WriteNumber("n_routed_experts", c.NRoutedExperts);
                w.WriteNumber("num_experts_per_tok", c.NumExpertsPerTok);
                w.WriteNumber("n_shared_experts", c.NSharedExperts);
                w.WriteNumber("index_topk", c.IndexTopK);
                w.WriteBoolean("tie_word_embeddings", c.TieWordEmbeddings);
                if (c.Quantization is { } q) w.WriteString("quantization", $"{q.QuantMethod} {q.Fmt} block {q.BlockRows}x{q.BlockCols}");
                else w.WriteNull("quantization");
                w.WriteEndObject();
            }

            w.WriteStartObject("parameters");
            w.WriteNumber("total", r.TotalParameters);
            w.WriteNumber("main_model", r.TotalParameters - r.MtpParameters);
            w.WriteNumber("mtp", r.MtpParameters);
            w.WriteNumber("expected_total", r.ExpectedParameters);
            w.WriteNumber("active_per_token", r.ActiveParametersPerToken);
            w.WriteString("active_definition", InspectionReport.ActiveDefinition);
            w.WriteNumber("scale_elements", r.ScaleElements);
            w.WriteEndObject();

            w.WriteStartObject("bytes_per_dtype");
            foreach (var (dtype, n) in r.BytesPerDType) w.WriteNumber(dtype.HeaderName(), n);
            w.WriteEndObject();
            w.WriteNumber("total_bytes", r.BytesPerDType.Values.Sum());

            w.WriteStartArray("files");
            foreach (var f in r.Files)
            {
                w.WriteStartObject();
                w.WriteString("name", f.Name);
                w.WriteNumber("tensors", f.Tensors);
                w.WriteNumber("bytes", f.Bytes);
                w.WriteEndObject();
            }
            w.WriteEndArray();

            w.WriteStartObject("layers");
            Ints(w, "full_indexer", c?.FullIndexerLayers ?? []);
            Ints(w, "shared_indexer", c?.SharedIndexerLayers ?? []);
            Ints(w, "index_source", c is null ? [] : Enumerable.Range(0, c.NumHiddenLayers).Select(c.IndexSourceLayer).ToList());
            Ints(w, "dense", c?.DenseLayers ?? []);
            Ints(w, "moe", c?.MoeLayers ?? []);
            Ints(w, "mtp", c?.MtpLayers ?? []);
            w.WriteEndObject();

            w.WriteStartObject("kv_cache");
            w.WriteNumber("bytes_per_token_bf16", r.KvCacheBytesPerToken);
            w.WriteNumber("latent_bytes_per_token_bf16", r.LatentCacheBytesPerToken);
            w.WriteNumber("indexer_bytes_per_token_bf16", r.IndexerCacheBytesPerToken);
            w.WriteNumber("latent_width", c?.LatentCacheWidth ?? 0);
            w.WriteNumber("indexer_width", c?.IndexHeadDim ?? 0);
            w.WriteEndObject();

            Strings(w, "missing_tensors", r.MissingTensors);
            Strings(w, "unexpected_tensors", r.UnexpectedTensors);
            Mismatches(w, "wrong_shape", r.WrongShape);
            Mismatches(w, "wrong_dtype", r.WrongDType);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Strings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    private static void Ints(Utf8JsonWriter w, string name, IEnumerable<int> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    private static void Mismatches(Utf8JsonWriter w, string name, IEnumerable<TensorMismatch> values)
    {
        w.WriteStartArray(name);
        foreach (var m in values)
        {
            w.WriteStartObject();
            w.WriteString("name", m.Name);
            w.WriteString("expected", m.Expected);
            w.WriteString("found", m.Found);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }
}
