using System.Text.Json;
using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.Tests.Text;

public sealed class TokenizerArtifactFilesTests
{
    [Fact]
    public void CopiesTokenizerFilesAndRecordsTheChatTemplateVerbatim()
    {
        using var output = Fixtures.NewTempDir("tok-artifacts");
        var source = Fixtures.TokenizerDir("qwen3");
        var written = TokenizerArtifactFiles.Copy(source, output.Path);

        Assert.Equal(new TokenizerArtifacts("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"), written);
        using var config = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(source, "tokenizer_config.json")));
        Assert.Equal(config.RootElement.GetProperty("chat_template").GetString(), File.ReadAllText(output.File("chat_template.jinja")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(source, "tokenizer.json")), File.ReadAllBytes(output.File("tokenizer.json")));
    }

    [Fact]
    public void NoTemplateMeansNoTemplateFile()
    {
        using var checkpoint = Fixtures.NewTempDir("tiny-ckpt");
        using var output = Fixtures.NewTempDir("tok-artifacts");
        TinyGlmTokenizerBuilder.Write(checkpoint.Path);
        Assert.Null(TokenizerArtifactFiles.Copy(checkpoint.Path, output.Path).ChatTemplateFile);
        Assert.False(File.Exists(output.File("chat_template.jinja")));
    }

    [Fact]
    public void BadTokenizerJsonNamesTheField()
    {
        using var dir = Fixtures.NewTempDir("bad-tok");
        File.WriteAllText(dir.File("tokenizer.json"),
            """{"model": {"type": "WordPiece", "vocab": {}}, "pre_tokenizer": null, "decoder": null}""");
        var error = Assert.Throws<TokenizerFormatException>(() => GlmTokenizer.Load(dir.Path));
        Assert.Contains("'model.type' is 'WordPiece'", error.Message);
    }
}
