using System.CommandLine;
using System.Text.Json;
using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.RunCli;

/// <summary>
/// <c>glm-run tokenize --tokenizer DIR --text S [--add-special-tokens] [--special-as-text] [--json]</c>: prints token
/// ids. By default added tokens written in the text become their ids (how the template's markup is encoded);
/// --special-as-text encodes them as plain text (how chat message content is encoded).
/// </summary>
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
        var plainOption = new Option<bool>("--special-as-text")
        {
            Description = "Encode added/special token text (e.g. <|user|>) as plain text, as chat message content is encoded",
        };
        var jsonOption = new Option<bool>("--json") { Description = "Print {\"ids\": [...]} instead of space-separated ids" };

        var command = new Command("tokenize", "Encode text to token ids")
        {
            tokenizerOption, textOption, specialOption, plainOption, jsonOption,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var tokenizer = GlmTokenizer.Load(parse.GetValue(tokenizerOption)!);
            var text = parse.GetValue(textOption)!;
            var ids = parse.GetValue(plainOption)
                ? tokenizer.EncodeAsPlainText(text, parse.GetValue(specialOption))
                : tokenizer.Encode(text, parse.GetValue(specialOption));
            Console.WriteLine(parse.GetValue(jsonOption)
                ? JsonSerializer.Serialize(new Dictionary<string, int[]> { ["ids"] = ids })
                : string.Join(' ', ids));
        }));
        return command;
    }
}
