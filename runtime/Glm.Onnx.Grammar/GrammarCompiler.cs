using Glm.Onnx.Grammar.Json;
using Glm.Onnx.Grammar.Vocabulary;

namespace Glm.Onnx.Grammar;

/// <summary>Entry points: JSON Schema, JSON mode and GBNF grammars to <see cref="CompiledGrammar"/>.</summary>
public static class GrammarCompiler
{
    /// <summary>Compiles a JSON Schema (text). Throws <see cref="GrammarException"/> naming keyword and pointer.</summary>
    public static CompiledGrammar CompileJsonSchema(string schemaJson, TokenVocabulary vocabulary, JsonSchemaOptions? options = null)
    {
        var (grammar, dfa) = JsonSchemaCompiler.Compile(schemaJson, options ?? JsonSchemaOptions.Default);
        return new CompiledGrammar(grammar, dfa, vocabulary);
    }

    /// <summary>JSON mode: any JSON object.</summary>
    public static CompiledGrammar CompileJsonObject(TokenVocabulary vocabulary, JsonSchemaOptions? options = null)
    {
        var (grammar, dfa) = JsonSchemaCompiler.CompileAnyObject(options ?? JsonSchemaOptions.Default);
        return new CompiledGrammar(grammar, dfa, vocabulary);
    }

    /// <summary>Compiles a GBNF grammar (llama.cpp syntax, docs/structured-output.md); the start rule is root.</summary>
    public static CompiledGrammar CompileGbnf(string grammarText, TokenVocabulary vocabulary)
    {
        var (grammar, dfa) = Gbnf.GbnfCompiler.Compile(grammarText);
        return new CompiledGrammar(grammar, dfa, vocabulary);
    }
}
