using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.RunCli;

/// <summary>
/// <c>glm-run detokenize --tokenizer DIR --ids "1 2 3" [--skip-special-tokens] [--json]</c>: prints the text.
/// Ids may be separated by spaces or commas, or given as a JSON array.
/// </summary>
public static class DetokenizeCommand
{
    public static Command Create()
    {
        var tokenizerOption = new Option<string>("--tokenizer")
        {
            Description = "Directory with tokenizer.json (and tokenizer_config.json)",
            Required = true,
        };
        var idsOption = new Option<string[]>("--ids")
        {
            Description = "Token ids: \"1 2 3\", \"1,2,3\" or \"[1, 2, 3]\"",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var skipOption = new Option<bool>("--skip-special-tokens") { Description = "Leave special tokens out of the text" };
        var jsonOption = new Option<bool>("--json") { Description = "Print {\"text\": \"...\"}" };

        var command = new Command("detokenize", "Decode token ids to text")
        {
            tokenizerOption, idsOption, skipOption, jsonOption,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            var tokenizer = GlmTokenizer.Load(parse.GetValue(tokenizerOption)!);
            var ids = ParseIds(parse.GetValue(idsOption)!);
            var text = tokenizer.Decode(ids, parse.GetValue(skipOption));
            if (parse.GetValue(jsonOption))
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, string> { ["text"] = text },
                    new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
            else
                Console.Write(text + Environment.NewLine);
        }));
        return command;
    }

    internal static int[] ParseIds(IEnumerable<string> arguments)
    {
        var ids = new List<int>();
        foreach (var argument in arguments)
        {
            foreach (var part in argument.Split([' ', ',', '[', ']', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries))
            {
                if (!int.TryParse(part, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var id))
                    throw new ArgumentException($"--ids: '{part}' is not an integer token id");
                ids.Add(id);
            }
        }

        return [.. ids];
    }
}
