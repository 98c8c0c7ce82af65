using Glm.Onnx.Grammar.Gbnf;
using Glm.Onnx.Grammar.Json;
using Glm.Onnx.Grammar.Vocabulary;

namespace Glm.Onnx.Grammar;

/// <summary>Entry points: JSON Schema, JSON mode and GBNF grammars to <see cref="CompiledGrammar"/>. Each compile runs
/// under its options' CompileTimeout, which covers the grammar, the lexer and the compiled tables.</summary>
public static class GrammarCompiler
{
    /// <summary>Compiles a JSON Schema (text). Throws <see cref="GrammarException"/> naming keyword and pointer.</summary>
    public static CompiledGrammar CompileJsonSchema(string schemaJson, TokenVocabulary vocabulary, JsonSchemaOptions? options = null)
    {
        options ??= JsonSchemaOptions.Default;
        var clock = new CompileClock(options.CompileTimeout, "schema");
        var (grammar, dfa) = JsonSchemaCompiler.Compile(schemaJson, options, clock);
        return Finish(grammar, dfa, vocabulary, clock);
    }

    /// <summary>JSON mode: any JSON object.</summary>
    public static CompiledGrammar CompileJsonObject(TokenVocabulary vocabulary, JsonSchemaOptions? options = null)
    {
        options ??= JsonSchemaOptions.Default;
        var clock = new CompileClock(options.CompileTimeout, "schema");
        var (grammar, dfa) = JsonSchemaCompiler.CompileAnyObject(options, clock);
        return Finish(grammar, dfa, vocabulary, clock);
    }

    /// <summary>Compiles a GBNF grammar (llama.cpp syntax, docs/structured-output.md); the start rule is root.</summary>
    public static CompiledGrammar CompileGbnf(string grammarText, TokenVocabulary vocabulary, GbnfOptions? options = null)
    {
        var clock = new CompileClock((options ?? GbnfOptions.Default).CompileTimeout, "GBNF grammar");
        var (grammar, dfa) = GbnfCompiler.Compile(grammarText, clock);
        return Finish(grammar, dfa, vocabulary, clock);
    }

    private static CompiledGrammar Finish(Parser.Grammar grammar, Lexer.LexerDfa dfa, TokenVocabulary vocabulary, CompileClock clock)
    {
        clock.CheckNow();
        var compiled = new CompiledGrammar(grammar, dfa, vocabulary);
        clock.CheckNow();
        return compiled;
    }
}
