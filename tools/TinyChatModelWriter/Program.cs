using System.Text.Json;
using System.Text.Json.Nodes;
using Glm.Onnx.Checkpoint;
using Glm.Onnx.Runtime.Text;

// Usage: TinyChatModelWriter <template config.json> <output dir> [seed]
// Writes a Hugging Face-layout checkpoint whose vocabulary is the tiny GLM tokenizer's (bytes, a few merges and every
// GLM control token): config.json (the template's architecture cut to 2 layers, vocab and special ids from the
// tokenizer), generation_config.json, model.safetensors (normal(0, 0.02) weights, unit norms, zero biases, bf16 as
// the real checkpoints store them), tokenizer.json and tokenizer_config.json. Random weights make random text; the
// point is that chat, parsing and serving run end to end over ONNX Runtime with real GLM tokens.
if (args.Length is < 2 or > 3)
{
    Console.Error.WriteLine("usage: TinyChatModelWriter <template config.json> <output dir> [seed]");
    return 2;
}
var output = args[1];
int seed = args.Length == 3 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 52;
Directory.CreateDirectory(output);
TinyGlmTokenizerBuilder.Write(output);
var tokenizer = GlmTokenizer.Load(output);
int Id(string token) => GlmSpecialTokens.RequireId(tokenizer, token);

var config = JsonNode.Parse(File.ReadAllText(args[0]))!.AsObject();
const int layers = 2;
config["vocab_size"] = tokenizer.VocabularySize;
config["num_hidden_layers"] = layers;
config["layer_types"] = new JsonArray(Enumerable.Repeat<JsonNode?>("deepseek_sparse_attention", layers).Select(n => (JsonNode?)JsonValue.Create((string)n!)).ToArray());
config["indexer_types"] = new JsonArray(JsonValue.Create("full"), JsonValue.Create("shared"));
config["mlp_layer_types"] = new JsonArray(JsonValue.Create("dense"), JsonValue.Create("sparse"));
config["first_k_dense_replace"] = 1;
config["bos_token_id"] = Id(GlmSpecialTokens.GMask);
var eos = new JsonArray(GlmSpecialTokens.StopTokens.Select(t => (JsonNode?)JsonValue.Create(Id(t))).ToArray());
config["eos_token_id"] = eos.DeepClone();
config["pad_token_id"] = Id(GlmSpecialTokens.EndOfText);
var indented = new JsonSerializerOptions { WriteIndented = true };
File.WriteAllText(Path.Combine(output, "config.json"), config.ToJsonString(indented) + "\n");
var generation = new JsonObject
{
    ["bos_token_id"] = Id(GlmSpecialTokens.GMask),
    ["eos_token_id"] = eos,
    ["pad_token_id"] = Id(GlmSpecialTokens.EndOfText),
    ["temperature"] = 1.0,
    ["top_p"] = 0.95,
};
File.WriteAllText(Path.Combine(output, "generation_config.json"), generation.ToJsonString(indented) + "\n");

var glm = GlmConfig.Load(Path.Combine(output, "config.json"));
var random = new Random(seed);
float Normal() => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
var tensors = new List<(TensorSpec, byte[])>();
foreach (var tensor in ExpectedTensors.For(glm))
{
    var values = new float[tensor.ElementCount];
    bool isBias = tensor.Name.EndsWith(".bias", StringComparison.Ordinal) || tensor.Name.EndsWith("e_score_correction_bias", StringComparison.Ordinal);
    for (int i = 0; i < values.Length; i++)
        values[i] = tensor.Group == TensorGroup.Norm ? (isBias ? 0f : 1f) : isBias ? 0f : 0.02f * Normal();
    byte[] data;
    if (tensor.DType == DType.F32)
    {
        data = new byte[values.Length * 4];
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).CopyTo(data);
    }
    else
    {
        data = new byte[values.Length * 2];
        DTypeConversion.ToBFloat16(values, data);
    }
    tensors.Add((new TensorSpec(tensor.Name, tensor.DType == DType.F32 ? DType.F32 : DType.BF16, tensor.Shape), data));
}
SafetensorsWriter.WriteFile(Path.Combine(output, "model.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });
Console.WriteLine($"wrote {output}: {tensors.Count} tensors, vocabulary {tokenizer.VocabularySize}, eos {eos.ToJsonString()}");
return 0;
