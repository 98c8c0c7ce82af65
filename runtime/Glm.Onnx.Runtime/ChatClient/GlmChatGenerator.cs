using System.Runtime.CompilerServices;
using Glm.Onnx.Runtime.Chat;
using Glm.Onnx.Runtime.Chat.Protocol;
using Glm.Onnx.Runtime.Constraints;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Text;

namespace Glm.Onnx.Runtime.ChatClient;

/// <summary>
/// Chat on top of the engine: renders the conversation with <see cref="GlmChatFormatter"/>, tokenises it, streams the
/// reply through <see cref="GlmOutputParser"/> and ends with a <see cref="ChatFinished"/> event. Shared by the
/// <c>IChatClient</c>, the HTTP server and <c>glm-run chat</c>. Borrows the engine; thread-safe (one parser per call).
/// </summary>
public sealed class GlmChatGenerator
{
    private readonly int[] _turnEndIds;
    private readonly int _thinkEndId;
    private readonly int _toolCallStartId;
    private readonly int[] _notInReasoning;

    /// <param name="engine">An engine whose decoder keeps control tokens (the parser needs them).</param>
    /// <param name="tokenizer">The model's tokenizer (must define the GLM control tokens).</param>
    public GlmChatGenerator(GenerationEngine engine, GlmTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (engine.Decoder is null)
            throw new ArgumentException("The engine has no token decoder; chat needs text output.", nameof(engine));
        foreach (var token in GlmSpecialTokens.All)
            GlmSpecialTokens.RequireId(tokenizer, token); // a clear error now rather than a garbled prompt later
        Engine = engine;
        Tokenizer = tokenizer;
        // The tokens that end an assistant turn stop generation even if the manifest's eos list lacks them.
        _turnEndIds = [.. GlmSpecialTokens.StopTokenIds(tokenizer)];
        _thinkEndId = GlmSpecialTokens.RequireId(tokenizer, GlmSpecialTokens.ThinkEnd);
        _toolCallStartId = GlmSpecialTokens.RequireId(tokenizer, GlmSpecialTokens.ToolCallStart);
        // Markup that would end the reply (turn tags: the output parser stops there) or open a call inside the
        // reasoning block: kept out of a constrained reply's reasoning, so the constrained answer always follows it.
        _notInReasoning = [.. new[]
        {
            GlmSpecialTokens.EndOfText, GlmSpecialTokens.User, GlmSpecialTokens.Observation, GlmSpecialTokens.Assistant,
            GlmSpecialTokens.System, GlmSpecialTokens.ToolCallStart,
        }.Select(tag => GlmSpecialTokens.RequireId(tokenizer, tag))];
        Grammars = new GrammarCache(tokenizer);
    }

    /// <summary>Compiled response formats for this model's tokenizer (one vocabulary, bounded LRU).</summary>
    public GrammarCache Grammars { get; }

    public GenerationEngine Engine { get; }

    public GlmTokenizer Tokenizer { get; }

    /// <summary>
    /// Renders and tokenises a request and compiles its response format; throws
    /// <see cref="ContextLengthExceededException"/> when it cannot fit and <see cref="Glm.Onnx.Grammar.GrammarException"/>
    /// (naming the keyword and path) for a schema or grammar that cannot be compiled, before anything is generated.
    /// </summary>
    public PreparedChat Prepare(GlmChatRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Messages.Count == 0)
            throw new ArgumentException("The conversation has no messages.", nameof(request));
        if (request.MaxNewTokens <= 0)
            throw new ArgumentException($"The maximum number of new tokens must be positive, got {request.MaxNewTokens}.", nameof(request));
        request.Sampling.Validate();
        string forced = "";
        var format = request.Format;
        if (request.RequiredTool is { } required)
        {
            if (required.Length > 0 && !request.Tools.Any(t => t.Name == required))
                throw new ArgumentException($"The required tool '{required}' is not among the tools offered.", nameof(request));
            if (request.Tools.Count == 0)
                throw new ArgumentException("A tool call is required but no tools are offered.", nameof(request));
            format = format with { EnableThinking = false, AddGenerationPrompt = true };
            forced = GlmSpecialTokens.ToolCallStart + required;
        }
        var rendered = GlmChatFormatter.Render(request.Messages, request.Tools, format);
        var prompt = rendered.Text + forced;
        // Message content is encoded as plain text: a control token typed in it must not forge a turn or a call.
        // The forced call's tool name is the caller's text too; only its "<tool_call>" is markup.
        var contentSpans = forced.Length > GlmSpecialTokens.ToolCallStart.Length
            ? [.. rendered.ContentSpans, new LiteralSpan(rendered.Text.Length + GlmSpecialTokens.ToolCallStart.Length, forced.Length - GlmSpecialTokens.ToolCallStart.Length)]
            : rendered.ContentSpans;
        int limit = Engine.MaxSequenceTokens;
        // A prompt too long to fit is refused from its length alone: tokenizing megabytes first costs CPU and memory.
        if (Tokenizer.TokenCountLowerBound(prompt) is var atLeast && atLeast >= limit)
            throw new ContextLengthExceededException((int)Math.Min(atLeast, int.MaxValue), limit, atLeast: true);
        var ids = Tokenizer.Encode(prompt, contentSpans, addSpecialTokens: false);
        if (ids.Length >= limit)
            throw new ContextLengthExceededException(ids.Length, limit);
        bool reasoning = format.AddGenerationPrompt && format.EnableThinking && forced.Length == 0;
        // A forced tool call is the whole reply: it follows the tool-call grammar (arguments typed by the tools'
        // schemas), and a response format has nothing to shape there (it is still checked).
        var grammar = request.ResponseFormat is { } output ? Grammars.Get(output, request.GrammarCompileTimeout) : null;
        var perToolCall = false;
        Glm.Onnx.Grammar.CompiledGrammar? toolCalls = null;
        if (request.RequiredTool is { } tool)
            grammar = ToolCallGrammarFor(request.Tools, tool, request.GrammarCompileTimeout);
        else if (grammar is not null && request.Tools.Count > 0)
        {
            // A response format with tools under tool_choice auto: the answer is content under the format or tool
            // calls (strict tools' arguments under their schemas), never free text (docs/structured-output.md).
            toolCalls = ToolCallGrammarFor(request.Tools, null, request.GrammarCompileTimeout);
        }
        else if (grammar is null && request.Tools.Any(t => t.Strict))
        {
            // tool_choice auto with strict tools: every call the model opens follows the tool-call grammar.
            grammar = ToolCallGrammarFor(request.Tools, null, request.GrammarCompileTimeout);
            perToolCall = true;
        }
        return new PreparedChat(request, prompt, ids, forced, reasoning)
        {
            Grammar = grammar, GrammarPerToolCall = perToolCall, ToolCallGrammar = toolCalls,
        };
    }

    /// <param name="required">The required tool's name, "" for any tool (tool_choice required), null for the strict
    /// tools under tool_choice auto.</param>
    private Glm.Onnx.Grammar.CompiledGrammar ToolCallGrammarFor(IReadOnlyList<ToolDefinition> tools, string? required, TimeSpan? compileTimeout)
    {
        try
        {
            return required is null ? Grammars.GetStrictToolCall(tools, compileTimeout)
                : Grammars.GetToolCall(tools, required.Length == 0 ? null : required, compileTimeout);
        }
        catch (Glm.Onnx.Grammar.GrammarException e)
        {
            throw new ArgumentException($"A tool's parameters cannot constrain its tool calls (tool_choice required or named, or strict tools): {e.Message}", nameof(tools));
        }
    }

    // Jump-forward's canonical tokenization of a forced run (plain text: no special tokens).
    private IReadOnlyList<int> Tokenize(string text) => Tokenizer.Encode(text, addSpecialTokens: false);

    public IAsyncEnumerable<ChatOutputEvent> GenerateAsync(GlmChatRequest request, CancellationToken cancellationToken = default) =>
        GenerateAsync(Prepare(request), cancellationToken);

    /// <summary>
    /// Streams reasoning, content and tool-call events, then one <see cref="ChatFinished"/>. Malformed tool-call markup
    /// is passed on as content text so nothing the model wrote is lost. Cancelling frees the request's cache blocks.
    /// </summary>
    public async IAsyncEnumerable<ChatOutputEvent> GenerateAsync(
        PreparedChat prepared, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prepared);
        var request = prepared.Request;
        var parser = new GlmOutputParser(prepared.StartsInReasoning, request.Tools);
        var generation = new GenerationRequest(prepared.PromptIds)
        {
            Sampling = request.Sampling,
            MaxNewTokens = request.MaxNewTokens,
            SpeculativeTokens = request.SpeculativeTokens,
            StopTokenIds = _turnEndIds,
            StopStrings = request.StopStrings,
            // With reasoning on, the answer after "</think>" follows the grammar; the reasoning stays free text.
            Constraint = prepared.Grammar is not { } grammar ? null
                : prepared.GrammarPerToolCall ? new GrammarConstraint(grammar) { StartAfterTokenId = _toolCallStartId, Reopens = true, Tokenize = Tokenize }
                : new GrammarConstraint(grammar)
                {
                    StartAfterTokenId = prepared.StartsInReasoning ? _thinkEndId : null,
                    ExcludedBeforeStart = _notInReasoning,
                    Tokenize = Tokenize,
                    ToolCalls = prepared.ToolCallGrammar is { } calls ? new ToolCallAlternative(_toolCallStartId, calls) : null,
                },
        };
        bool toolCalls = false;
        IEnumerable<ChatOutputEvent> Accept(IReadOnlyList<ChatOutputEvent> events)
        {
            foreach (var e in events)
            {
                if (e is ToolCallEvent { IsWellFormed: true })
                {
                    toolCalls = true;
                    yield return e;
                }
                else if (e is ToolCallEvent broken)
                    yield return new ContentDelta(GlmSpecialTokens.ToolCallStart + broken.RawText);
                else
                    yield return e;
            }
        }

        foreach (var e in Accept(parser.Push(prepared.ForcedPrefix)))
            yield return e;
        await foreach (var token in Engine.GenerateAsync(generation, cancellationToken).ConfigureAwait(false))
        {
            if (token.TextDelta.Length > 0)
                foreach (var e in Accept(parser.Push(token.TextDelta)))
                    yield return e;
            if (token.FinishReason is { } reason)
            {
                foreach (var e in Accept(parser.Finish()))
                    yield return e;
                yield return new ChatFinished(FinishReasons.ForChat(reason, toolCalls), token.Usage!);
                yield break;
            }
        }
    }
}
