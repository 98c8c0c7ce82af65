using System.Globalization;

namespace Glm.Onnx.RunCli;

/// <summary>
/// The prompt of <c>glm-run generate</c>: token ids (<c>--input-ids 1,2,3</c> or <c>--input-ids @FILE</c>) or text
/// (<c>--prompt TEXT</c>, <c>--prompt-file FILE</c>, <c>--prompt-file -</c> for stdin). Long prompts (64K tokens) do
/// not fit in an argument list, hence the files. Everything is read before the model loads, so a bad file fails at
/// once with its name in the message.
/// </summary>
internal sealed record PromptInput(int[]? Ids, string? Text)
{
    /// <summary>What <c>--prompt-file</c> takes to read standard input instead of a file.</summary>
    public const string StdinName = "-";

    /// <summary>
    /// Reads the one prompt source given (null when none is). <paramref name="stdin"/> is opened only for
    /// <c>--prompt-file -</c>.
    /// </summary>
    public static PromptInput? Read(string? inputIds, string? prompt, string? promptFile, Func<TextReader> stdin)
    {
        var given = new[] { ("--prompt", prompt), ("--prompt-file", promptFile), ("--input-ids", inputIds) }
            .Where(source => source.Item2 is not null).Select(source => source.Item1).ToArray();
        if (given.Length > 1)
            throw new ArgumentException($"give {given[0]} or {given[1]}, not both.");
        if (prompt is not null)
            return new PromptInput(null, prompt);
        if (promptFile is not null)
            return new PromptInput(null, ReadPromptFile(promptFile, stdin));
        if (inputIds is not null)
            return new PromptInput(inputIds.StartsWith('@')
                ? ReadIdFile(inputIds[1..])
                : ModelArguments.ParseIds(inputIds, "--input-ids"), null);
        return null;
    }

    // Verbatim: a trailing newline in the file is part of the prompt, as it would be for the same text typed inline.
    private static string ReadPromptFile(string path, Func<TextReader> stdin)
    {
        string text;
        if (path == StdinName)
            text = stdin().ReadToEnd();
        else
        {
            RequireFile(path, "--prompt-file");
            text = Readable(path, "--prompt-file", () => File.ReadAllText(path));
        }
        if (text.Length == 0)
            throw new ArgumentException(path == StdinName ? "--prompt-file -: standard input is empty." : $"--prompt-file: '{path}' is empty.");
        return text;
    }

    /// <summary>Token ids separated by any mix of whitespace (newlines included) and commas.</summary>
    public static int[] ReadIdFile(string path)
    {
        if (path.Length == 0)
            throw new ArgumentException("--input-ids: '@' must be followed by a file name (--input-ids @ids.txt).");
        RequireFile(path, "--input-ids");
        var ids = new List<int>();
        int lineNumber = 0;
        foreach (var line in Readable(path, "--input-ids", () => File.ReadAllLines(path)))
        {
            lineNumber++;
            foreach (var part in line.Split([',', ' ', '\t', '\r', '\v', '\f'], StringSplitOptions.RemoveEmptyEntries))
            {
                if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int id))
                    throw new ArgumentException(
                        $"--input-ids: '{path}' line {lineNumber}: '{Shorten(part)}' is not a token id " +
                        "(expected non-negative integers separated by whitespace or commas).");
                ids.Add(id);
            }
        }
        if (ids.Count == 0)
            throw new ArgumentException($"--input-ids: '{path}' holds no token ids.");
        return ids.ToArray();
    }

    private static void RequireFile(string path, string option)
    {
        if (Directory.Exists(path))
            throw new ArgumentException($"{option}: '{path}' is a directory, not a file.");
        if (!File.Exists(path))
            throw new ArgumentException($"{option}: file '{path}' not found.");
    }

    // Unreadable files (permissions, I/O errors) become the same one-line error as a missing one.
    private static T Readable<T>(string path, string option, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"{option}: cannot read '{path}': {e.Message}", e);
        }
    }

    private static string Shorten(string token) => token.Length <= 32 ? token : token[..32] + "...";
}
