using Glm.Onnx.Grammar;
using Glm.Onnx.Grammar.Gbnf;
using Glm.Onnx.Grammar.Json;
using Glm.Onnx.Grammar.Vocabulary;
using Glm.Onnx.Runtime.Constraints;
using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.Runtime.ChatClient;

/// <summary>
/// Compiled grammars for one tokenizer: the <see cref="TokenVocabulary"/> is built once (on first use: it walks the
/// whole vocabulary), and compiled grammars are kept in a bounded least-recently-used cache keyed by kind and text,
/// so repeated requests with the same schema compile once. Thread-safe; compilation runs outside the lock.
/// </summary>
public sealed class GrammarCache
{
    private readonly Lazy<TokenVocabulary> _vocabulary;
    private readonly Lazy<TokenVocabulary> _markupVocabulary;
    private readonly int _capacity;
    private readonly Lock _gate = new();
    private readonly Dictionary<StructuredOutput, LinkedListNode<(StructuredOutput Key, CompiledGrammar Grammar)>> _entries = [];
    private readonly LinkedList<(StructuredOutput Key, CompiledGrammar Grammar)> _recent = new();

    /// <param name="tokenizer">The model's tokenizer; added tokens (control markup) are never in a mask.</param>
    /// <param name="capacity">Most compiled grammars kept.</param>
    public GrammarCache(GlmTokenizer tokenizer, int capacity = 64)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _vocabulary = new Lazy<TokenVocabulary>(() => BuildVocabulary(tokenizer, []), LazyThreadSafetyMode.ExecutionAndPublication);
        _markupVocabulary = new Lazy<TokenVocabulary>(() => BuildVocabulary(tokenizer, ToolCallMarkup), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The tokenizer's tokens as byte strings (built on first use).</summary>
    public TokenVocabulary Vocabulary => _vocabulary.Value;

    // The control tokens a tool call is written with: in the tool-call vocabulary, so the model can use them.
    private static readonly string[] ToolCallMarkup =
    [
        GlmSpecialTokens.ToolCallEnd, GlmSpecialTokens.ArgKeyStart, GlmSpecialTokens.ArgKeyEnd,
        GlmSpecialTokens.ArgValueStart, GlmSpecialTokens.ArgValueEnd,
    ];

    /// <summary>
    /// The grammar of one tool call after "&lt;tool_call&gt;" (<see cref="ToolCallGrammar"/>): any offered tool
    /// (<paramref name="name"/> null: its name comes first) or the named one (name already written), arguments typed
    /// by each tool's parameter schema. Cached like the other grammars.
    /// </summary>
    /// <param name="compileTimeout">Compile time limit (null: <see cref="DefaultCompileTimeout"/>).</param>
    public CompiledGrammar GetToolCall(IReadOnlyList<Chat.ToolDefinition> tools, string? name, TimeSpan? compileTimeout = null) =>
        GetToolCall(tools, new ToolCallGrammarOptions(name), compileTimeout);

    /// <summary>
    /// The grammar of one tool call under tool_choice auto when some tools are <c>strict</c>: any offered tool, the
    /// strict ones' arguments typed by their schemas, the others' free up to "&lt;/tool_call&gt;".
    /// </summary>
    public CompiledGrammar GetStrictToolCall(IReadOnlyList<Chat.ToolDefinition> tools, TimeSpan? compileTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(tools);
        return GetToolCall(tools, new ToolCallGrammarOptions { FreeArguments = tools.Where(t => !t.Strict).Select(t => t.Name).ToList() }, compileTimeout);
    }

    private CompiledGrammar GetToolCall(IReadOnlyList<Chat.ToolDefinition> tools, ToolCallGrammarOptions options, TimeSpan? compileTimeout)
    {
        ArgumentNullException.ThrowIfNull(tools);
        var list = tools.Select(t => (t.Name, t.Parameters?.ToJsonString())).ToList();
        var key = new StructuredOutput(StructuredOutputKind.ToolCall,
            (options.Name ?? "") + "\u0002" + string.Join("\u0002", options.FreeArguments) + "\n" +
            string.Join("\n", list.Select(t => t.Name + "\u0001" + t.Item2)));
        return GetOrCompile(key, () => ToolCallGrammar.Compile(list, options, _markupVocabulary.Value, JsonOptions(compileTimeout)));
    }

    /// <summary>Grammars compiled so far that are still cached.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
                return _entries.Count;
        }
    }

    /// <summary>
    /// The compiled grammar for <paramref name="output"/>. Throws <see cref="GrammarException"/> (its message names the
    /// keyword and JSON pointer or GBNF line) for an invalid or unsupported schema or grammar, or one whose compilation
    /// exceeds the compile time limit.
    /// </summary>
    /// <param name="output">The response format.</param>
    /// <param name="compileTimeout">Compile time limit (null: <see cref="DefaultCompileTimeout"/>); the server's
    /// <c>GlmServerOptions.GrammarCompileTimeout</c>. A cached grammar is returned whatever the limit.</param>
    public CompiledGrammar Get(StructuredOutput output, TimeSpan? compileTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        return GetOrCompile(output, () => RequireSomeAnswer(output.Kind switch
        {
            StructuredOutputKind.JsonObject => GrammarCompiler.CompileJsonObject(Vocabulary, JsonOptions(compileTimeout)),
            StructuredOutputKind.JsonSchema => GrammarCompiler.CompileJsonSchema(output.Text, Vocabulary, JsonOptions(compileTimeout)),
            StructuredOutputKind.Gbnf => GrammarCompiler.CompileGbnf(output.Text, Vocabulary, new GbnfOptions { CompileTimeout = Limit(compileTimeout) }),
            _ => throw new ArgumentOutOfRangeException(nameof(output), $"{output.Kind} is not a response format."),
        }));
    }

    /// <summary>The compile time limit when a caller names none (the grammar engine's default).</summary>
    public static TimeSpan DefaultCompileTimeout => JsonSchemaOptions.Default.CompileTimeout;

    private static TimeSpan Limit(TimeSpan? compileTimeout) =>
        compileTimeout is { } limit
            ? limit > TimeSpan.Zero ? limit : throw new ArgumentOutOfRangeException(nameof(compileTimeout), limit, "The compile time limit must be positive.")
            : DefaultCompileTimeout;

    private static JsonSchemaOptions JsonOptions(TimeSpan? compileTimeout) => new() { CompileTimeout = Limit(compileTimeout) };

    /// <summary>
    /// Refuses a response format that admits no output at all (e.g. an empty enum, a schema of <c>false</c>, a GBNF
    /// rule that can start nothing): its first mask is empty and it cannot end, so generation could not take one step.
    /// </summary>
    private static CompiledGrammar RequireSomeAnswer(CompiledGrammar grammar)
    {
        var state = grammar.NewState();
        if (state.IsAccepting)
            return grammar;
        var mask = new ulong[grammar.Vocabulary.MaskWords];
        state.ComputeMask(mask);
        if (MaskOps.Count(mask) == 0)
            throw new GrammarException("the response format admits no output: no token can start it (e.g. an empty enum or a false schema)");
        return grammar;
    }

    private CompiledGrammar GetOrCompile(StructuredOutput output, Func<CompiledGrammar> compile)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(output, out var node))
            {
                _recent.Remove(node);
                _recent.AddFirst(node);
                return node.Value.Grammar;
            }
        }
        var grammar = compile();
        lock (_gate)
        {
            if (_entries.TryGetValue(output, out var raced))
                return raced.Value.Grammar;
            _entries[output] = _recent.AddFirst((output, grammar));
            while (_entries.Count > _capacity)
            {
                var last = _recent.Last!;
                _recent.RemoveLast();
                _entries.Remove(last.Value.Key);
            }
        }
        return grammar;
    }

    // Added tokens (the GLM control markup and other special pieces) are left out, but for those in keep: a grammar
    // spells text, and the caller decides about stop tokens itself (docs/structured-output.md).
    private static TokenVocabulary BuildVocabulary(GlmTokenizer tokenizer, string[] keep)
    {
        var added = tokenizer.AddedTokens.Where(t => !keep.Contains(t.Content)).Select(t => t.Id).ToHashSet();
        return new TokenVocabulary(tokenizer.VocabularySize, id =>
        {
            if (added.Contains(id) || tokenizer.IdToToken(id) is null)
                return null; // control markup, or a gap in the id range
            return tokenizer.TokenBytes(id).ToArray();
        }, added.Contains);
    }
}
