using System.CommandLine;
using System.Text.Json;
using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.RunCli;

/// <summary><c>glm-run tokenize --tokenizer DIR --text S [--add-special-tokens] [--json]</c>: prints token ids.</summary>
public static class TokenizeCommand
{
    public static Command Create()
    {
        var tokenizerOption = new Option<string>("--tokenizer")
        {
            Description = "Directory with tokenizer.json (and tokenizer_config.json)",
            Required = true,
        };
        var textOption = new Option<string>("--text") { Description = "Text to encode", Required = true };
        var specialOption = new Option<bool>("--add-special-tokens")
        {
            Description = "Add the tokenizer's BOS/EOS template around the ids",
        };
        var jsonOption = new Option<bool>("--json") { Description = "Print {\"ids\": [...]} instead of space-separated ids" };

        var command = new Command("tokenize", "Encode text to token ids")
        {
            tokenizerOption, textOption, specialOption, jsonOption,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var tokenizer = GlmTokenizer.Load(parse.GetValue(tokenizerOption)!);
            var ids = tokenizer.Encode(parse.GetValue(textOption)!, parse.GetValue(specialOption));
            Console.WriteLine(parse.GetValue(jsonOption)
                ? JsonSerializer.Serialize(new Dictionary<string, int[]> { ["ids"] = ids })
                : string.Join(' ', ids));
        }));
        return command;
    }
}
