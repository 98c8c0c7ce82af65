using Glm.Onnx.Grammar;
using Glm.Onnx.Runtime.ChatClient;
using Glm.Onnx.Runtime.Constraints;
using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.RunCli;

/// <summary>
/// glm-run generate's structured-output flags: --json-schema FILE (JSON Schema) or --grammar FILE (GBNF), compiled
/// against the model's tokenizer before generation (docs/structured-output.md). A bad file is a one-line error naming it.
/// </summary>
internal static class ConstraintArguments
{
    /// <param name="schemaFile">--json-schema, or null.</param>
    /// <param name="grammarFile">--grammar, or null.</param>
    /// <param name="tokenizer">The model's tokenizer, or null when it has none.</param>
    /// <param name="promptIds">The prompt: one that ends with "&lt;think&gt;" gets a free reasoning block, and the
    /// grammar starts after "&lt;/think&gt;".</param>
    public static GrammarConstraint? Read(string? schemaFile, string? grammarFile, GlmTokenizer? tokenizer, IReadOnlyList<int> promptIds)
    {
        if (schemaFile is null && grammarFile is null)
            return null;
        if (schemaFile is not null && grammarFile is not null)
            throw new ArgumentException("--json-schema and --grammar cannot be combined: give one.");
        if (tokenizer is null)
            throw new ArgumentException("--json-schema / --grammar need the model's tokenizer; this model has none.");
        string file = schemaFile ?? grammarFile!;
        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"cannot read {(schemaFile is not null ? "--json-schema" : "--grammar")} file '{file}': {e.Message}");
        }
        var output = schemaFile is not null ? StructuredOutput.ForJsonSchema(text) : StructuredOutput.ForGbnf(text);
        try
        {
            var grammar = new GrammarCache(tokenizer, capacity: 1).Get(output);
            bool inReasoning = tokenizer.TokenToId(GlmSpecialTokens.ThinkStart) is { } think && promptIds[^1] == think;
            int? start = inReasoning ? GlmSpecialTokens.RequireId(tokenizer, GlmSpecialTokens.ThinkEnd) : null;
            return new GrammarConstraint(grammar)
            {
                StartAfterTokenId = start,
                Tokenize = text => tokenizer.Encode(text, addSpecialTokens: false),
            };
        }
        catch (GrammarException e)
        {
            throw new ArgumentException($"'{file}': {e.Message}");
        }
    }
}
