using System.Text.Json;

namespace Glm.Onnx.Tests.GenAiInterop;

/// <summary>
/// GenAI's Tokenizer(path) reads genai_config.json before the tokenizer files, even though the tokenizer
/// never opens the model. This lays out a temp directory with the fixture's tokenizer.json and
/// tokenizer_config.json plus a minimal genai_config.json naming a (never loaded) decoder.
/// </summary>
public sealed class GenAiTokenizerDir : IDisposable
{
    private readonly TempDir _dir = Fixtures.NewTempDir("genai-tok");

    public GenAiTokenizerDir(string sourceDir, int vocabSize)
    {
        foreach (var name in new[] { "tokenizer.json", "tokenizer_config.json" })
        {
            var source = System.IO.Path.Combine(sourceDir, name);
            if (File.Exists(source))
                File.Copy(source, _dir.File(name));
        }

        var config = new
        {
            model = new
            {
                type = "llama",
                vocab_size = vocabSize,
                context_length = 4096,
                bos_token_id = 0,
                eos_token_id = 0,
                pad_token_id = 0,
                decoder = new
                {
                    filename = "model.onnx",
                    head_size = 8,
                    hidden_size = 8,
                    num_attention_heads = 1,
                    num_hidden_layers = 1,
                    num_key_value_heads = 1,
                },
            },
        };
        File.WriteAllText(_dir.File("genai_config.json"), JsonSerializer.Serialize(config));
    }

    public string DirectoryPath => _dir.Path;

    public void Dispose() => _dir.Dispose();
}
