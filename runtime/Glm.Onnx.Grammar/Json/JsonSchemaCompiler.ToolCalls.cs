using System.Text.Json;
using Glm.Onnx.Grammar.Lexer;
using Glm.Onnx.Grammar.Regex;

namespace Glm.Onnx.Grammar.Json;

/// <summary>
/// GLM's tool-call markup with schema-typed argument values (docs/structured-output.md): one tool call is
/// <c>name&lt;arg_key&gt;k&lt;/arg_key&gt;&lt;arg_value&gt;v&lt;/arg_value&gt;...&lt;/tool_call&gt;</c>; arguments follow the
/// order of the tool's "properties", required ones always, optional ones maybe. A value is raw text where GLM's
/// output parser reads it raw (no "type", or "string" among the types: any text without '&lt;', or one of the
/// "enum"/"const" strings), and JSON under its schema otherwise, so the parsed arguments always validate.
/// </summary>
internal sealed partial class JsonSchemaCompiler
{
    /// <summary>The compiled tool calls; <paramref name="toolsJson"/> is a JSON array of {name, parameters}.</summary>
    public static (Parser.Grammar Grammar, LexerDfa Dfa) CompileToolCalls(string toolsJson, ToolCallGrammarOptions markup, JsonSchemaOptions options)
    {
        using var doc = JsonDocument.Parse(toolsJson);
        var rx = new RegexBuilder();
        var dfa = new LexerDfa(rx);
        var c = new JsonSchemaCompiler(rx, dfa, doc.RootElement, options, new CompileClock(options.CompileTimeout, "tool-call grammar"));
        return (c._gb.Build(c.ToolCallRoot(doc.RootElement, markup)), dfa);
    }

    private int ToolCallRoot(JsonElement tools, ToolCallGrammarOptions markup)
    {
        int Literal(string text) => Lex(_rx.Literal(text), "'" + text + "'");
        int argKey = Literal("<arg_key>"), argKeyEnd = Literal("</arg_key>");
        int argValue = Literal("<arg_value>"), argValueEnd = Literal("</arg_value>");
        int callEnd = Literal("</tool_call>");
        var root = _gb.NewNonterminal("tool-call");
        int index = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            string pointer = $"/{index++}";
            var name = tool.GetProperty("name").GetString()!;
            if (markup.Name is { } only && only != name)
                continue;
            if (markup.FreeArguments.Contains(name))
            {
                _gb.AddRule(root, Literal(name), FreeArguments(argKey, argKeyEnd, argValue, argValueEnd), callEnd);
                continue;
            }
            var args = _gb.NewNonterminal($"{name}-arguments");
            var parameters = tool.TryGetProperty("parameters", out var p) ? p : default;
            var properties = parameters.ValueKind == JsonValueKind.Object && parameters.TryGetProperty("properties", out var props) &&
                props.ValueKind == JsonValueKind.Object ? props.EnumerateObject().ToList() : [];
            var required = parameters.ValueKind == JsonValueKind.Object && parameters.TryGetProperty("required", out var req) &&
                req.ValueKind == JsonValueKind.Array ? req.EnumerateArray().Select(r => r.GetString()).ToHashSet() : [];
            // args(i) ::= arg_i args(i+1) | args(i+1) when optional; the last is empty.
            var chain = new int[properties.Count + 1];
            for (int i = 0; i <= properties.Count; i++)
                chain[i] = i == 0 ? args : _gb.NewNonterminal($"{name}-arguments-{i}");
            _gb.AddRule(chain[properties.Count]);
            for (int i = 0; i < properties.Count; i++)
            {
                var property = properties[i];
                string at = $"{pointer}/parameters/properties/{Escape(property.Name)}";
                int value = ArgumentValue(property.Value, at);
                int one = _gb.NewNonterminal($"{name}-{property.Name}");
                _gb.AddRule(one, argKey, Literal(property.Name), argKeyEnd, argValue, value, argValueEnd);
                _gb.AddRule(chain[i], one, chain[i + 1]);
                if (!required.Contains(property.Name))
                    _gb.AddRule(chain[i], chain[i + 1]);
            }
            if (markup.Name is null)
                _gb.AddRule(root, Literal(name), args, callEnd);
            else
                _gb.AddRule(root, args, callEnd);
        }
        return root;
    }

    /// <summary>A non-strict tool's arguments: any number of arg_key / arg_value pairs in GLM's markup, keys and values
    /// any text without '&lt;' (so neither can run into the closing markup).</summary>
    private int FreeArguments(int argKey, int argKeyEnd, int argValue, int argValueEnd)
    {
        var text = _gb.NewNonterminal("free-text");
        _gb.AddRule(text);
        _gb.AddRule(text, Lex(_rx.Plus(_rx.Or(_rx.ByteRange(0, '<' - 1), _rx.ByteRange('<' + 1, 255))), "raw-text"));
        var args = _gb.NewNonterminal("free-arguments");
        _gb.AddRule(args);
        _gb.AddRule(args, args, argKey, text, argKeyEnd, argValue, text, argValueEnd);
        return args;
    }

    private int ArgumentValue(JsonElement schema, string pointer)
    {
        if (schema.ValueKind != JsonValueKind.Object)
            return CompileParts([new SchemaPart(schema, pointer)]);
        var types = !schema.TryGetProperty("type", out var type) ? null
            : type.ValueKind == JsonValueKind.String ? [type.GetString()!]
            : type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString() ?? "").ToList() : null;
        if (types is not null && !types.Contains("string"))
            return CompileParts([new SchemaPart(schema, pointer)]);
        var nt = _gb.NewNonterminal(pointer + "-raw");
        var choices = new List<string>();
        if (schema.TryGetProperty("enum", out var e) && e.ValueKind == JsonValueKind.Array)
            choices.AddRange(e.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText()));
        if (schema.TryGetProperty("const", out var k))
            choices.Add(k.ValueKind == JsonValueKind.String ? k.GetString()! : k.GetRawText());
        if (choices.Count > 0)
        {
            foreach (var choice in choices.Distinct())
            {
                if (choice.Length == 0)
                    _gb.AddRule(nt); // a lexeme cannot match the empty string: the empty choice is an empty rule
                else
                    _gb.AddRule(nt, Lex(_rx.Literal(choice), JsonSerializer.Serialize(choice)));
            }
            return nt;
        }
        foreach (var keyword in new[] { "pattern", "minLength", "maxLength", "format" })
            if (schema.TryGetProperty(keyword, out _))
                throw Error(pointer + "/" + keyword, $"'{keyword}' on a raw string tool argument is not supported");
        // Raw text: anything but '<', so the value cannot run into the closing markup; empty is an empty rule.
        _gb.AddRule(nt, Lex(_rx.Plus(_rx.Or(_rx.ByteRange(0, '<' - 1), _rx.ByteRange('<' + 1, 255))), "raw-text"));
        _gb.AddRule(nt);
        return nt;
    }
}
