using System.Text.Json;
using Glm.Onnx.Grammar.Lexer;
using Glm.Onnx.Grammar.Parser;
using Glm.Onnx.Grammar.Regex;

namespace Glm.Onnx.Grammar.Json;

/// <summary>
/// JSON Schema (draft 2020-12 subset, older spellings accepted) to grammar. Objects emit properties in definition
/// order, then any additional properties; every keyword it cannot enforce is a <see cref="GrammarException"/> naming
/// the keyword and its JSON pointer (docs/structured-output.md).
/// </summary>
internal sealed partial class JsonSchemaCompiler
{
    private const int MaxDepth = 200;
    private const int MaxCombinations = 256;
    private const int MaxExpandedCount = 2000;

    /// <summary>Named properties an object may hold in any order: one bit each in the parser's 64-bit key set.</summary>
    private const int MaxAnyOrderProperties = 64;

    private readonly RegexBuilder _rx;
    private readonly LexerDfa _dfa;
    private readonly GrammarBuilder _gb = new();
    private readonly JsonElement _root;
    private readonly JsonSchemaOptions _options;
    private readonly CompileClock _clock;
    private readonly Dictionary<string, int> _memo = new();
    private readonly int _ws;
    private int _depth;
    private readonly bool _refOverridesSiblings;
    private int _anyValue = -1;
    private readonly int _lBrace, _rBrace, _lBrack, _rBrack, _comma, _colon;

    private JsonSchemaCompiler(RegexBuilder rx, LexerDfa dfa, JsonElement root, JsonSchemaOptions options, CompileClock clock)
    {
        _clock = clock;
        _rx = rx;
        _dfa = dfa;
        _root = root;
        _options = options;
        _ws = options.MaxWhitespace > 0
            ? rx.Repeat(rx.Or([rx.Byte(' '), rx.Byte('\t'), rx.Byte('\n'), rx.Byte('\r')]), 0, options.MaxWhitespace)
            : RegexBuilder.Epsilon;
        // Up to draft 7, keywords next to $ref are ignored; from 2019-09 on they apply as well.
        _refOverridesSiblings = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("$schema", out var dialect) &&
            dialect.ValueKind == JsonValueKind.String &&
            dialect.GetString()! is var d && (d.Contains("draft-03") || d.Contains("draft-04") || d.Contains("draft-06") || d.Contains("draft-07"));
        _lBrace = Lex(rx.Byte('{'), "'{'");
        _rBrace = Lex(rx.Byte('}'), "'}'");
        _lBrack = Lex(rx.Byte('['), "'['");
        _rBrack = Lex(rx.Byte(']'), "']'");
        _comma = Lex(rx.Byte(','), "','");
        _colon = Lex(rx.Byte(':'), "':'");
    }

    /// <summary>Compiles schema text into a grammar and its lexer.</summary>
    public static (Parser.Grammar Grammar, LexerDfa Dfa) Compile(string schemaJson, JsonSchemaOptions options, CompileClock clock)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(schemaJson, new JsonDocumentOptions { MaxDepth = 512 });
        }
        catch (JsonException e)
        {
            throw new GrammarException($"schema is not valid JSON: {e.Message}");
        }
        using (doc)
        {
            var rx = new RegexBuilder();
            var dfa = new LexerDfa(rx);
            var c = new JsonSchemaCompiler(rx, dfa, doc.RootElement, options, clock);
            var start = c.CompileParts([new SchemaPart(doc.RootElement, "")]);
            return (c._gb.Build(start), dfa);
        }
    }

    /// <summary>JSON mode: any JSON object.</summary>
    public static (Parser.Grammar Grammar, LexerDfa Dfa) CompileAnyObject(JsonSchemaOptions options, CompileClock clock)
        => Compile("{\"type\":\"object\"}", options, clock);

    private int Lex(int regex, string name) => Parser.Grammar.Lexeme(_dfa.AddLexeme(_rx.Concat(_ws, regex), name));

    private GrammarException Error(string pointer, string message) =>
        new($"{message} (at {(pointer.Length == 0 ? "#" : "#" + pointer)})");

    private void CheckClock() => _clock.CheckNow();

    private static string Escape(string name) => name.Replace("~", "~0").Replace("/", "~1");

    /// <summary>A nonterminal for the conjunction of <paramref name="parts"/>; memoized, so recursive $refs close.</summary>
    private int CompileParts(List<SchemaPart> parts)
    {
        CheckClock();
        var key = string.Join("|", parts.Select(p => (p.NoCombinators ? "!" : "") + p.Pointer));
        if (_memo.TryGetValue(key, out var nt))
            return nt;
        nt = _gb.NewNonterminal(key);
        _memo[key] = nt;
        if (++_depth > MaxDepth)
            throw Error(parts[0].Pointer, $"schema nesting deeper than {MaxDepth}");
        try
        {
            var m = new MergedSchema();
            foreach (var p in parts)
                Collect(p, m, p.NoCombinators, 0);
            if (m.Groups.Count > 0)
                Distribute(nt, parts, m);
            else
                Generate(nt, m, parts[0].Pointer);
        }
        finally
        {
            _depth--;
        }
        return nt;
    }

    /// <summary>anyOf/oneOf: one alternative per choice of branch in every group, each merged with the rest.</summary>
    private void Distribute(int nt, List<SchemaPart> parts, MergedSchema m)
    {
        var combos = 1L;
        foreach (var g in m.Groups)
        {
            combos *= Math.Max(g.Branches.Count, 1);
            if (combos > MaxCombinations)
                throw Error(g.Pointer, $"anyOf/oneOf combinations exceed {MaxCombinations}");
            if (g.OneOf)
                CheckDisjoint(g.Branches, g.Pointer, m);
        }
        var baseParts = parts.Select(p => p with { NoCombinators = true }).ToList();
        var choice = new int[m.Groups.Count];
        while (true)
        {
            var alt = new List<SchemaPart>(baseParts);
            var empty = false;
            for (var i = 0; i < choice.Length; i++)
            {
                if (m.Groups[i].Branches.Count == 0)
                {
                    empty = true;
                    break;
                }
                alt.Add(m.Groups[i].Branches[choice[i]]);
            }
            if (!empty)
                _gb.AddRule(nt, CompileParts(alt));
            var k = 0;
            while (k < choice.Length && ++choice[k] >= m.Groups[k].Branches.Count)
                choice[k++] = 0;
            if (k == choice.Length)
                break;
        }
    }

    private SchemaPart Resolve(string reference, string pointer)
    {
        if (!reference.StartsWith('#'))
            throw Error(pointer, $"$ref \"{reference}\": only references inside the schema (#...) are supported");
        var path = Uri.UnescapeDataString(reference[1..]);
        if (path.Length > 0 && path[0] != '/')
            throw Error(pointer, $"$ref \"{reference}\": anchors are not supported");
        var node = _root;
        var resolved = "";
        foreach (var raw in path.Split('/').Skip(1))
        {
            var seg = raw.Replace("~1", "/").Replace("~0", "~");
            if (node.ValueKind == JsonValueKind.Object && node.TryGetProperty(seg, out var child))
                node = child;
            else if (node.ValueKind == JsonValueKind.Array && int.TryParse(seg, out var idx) && idx >= 0 &&
                     idx < node.GetArrayLength())
                node = node[idx];
            else
                throw Error(pointer, $"$ref \"{reference}\" does not resolve");
            resolved += "/" + Escape(seg);
        }
        return new SchemaPart(node, resolved);
    }

    private void Collect(SchemaPart part, MergedSchema m, bool noCombinators, int refDepth)
    {
        CheckClock();
        if (refDepth > 64)
            throw Error(part.Pointer, "$ref/allOf chain deeper than 64 (a reference cycle without a value in between)");
        var s = part.Schema;
        if (s.ValueKind == JsonValueKind.True)
            return;
        if (s.ValueKind == JsonValueKind.False)
        {
            m.Nothing = true;
            return;
        }
        if (s.ValueKind != JsonValueKind.Object)
            throw Error(part.Pointer, "a schema must be an object or a boolean");
        if (_refOverridesSiblings && s.TryGetProperty("$ref", out var onlyRef) && onlyRef.ValueKind == JsonValueKind.String)
        {
            Collect(Resolve(onlyRef.GetString()!, part.Pointer + "/$ref") with { NoCombinators = noCombinators }, m, noCombinators, refDepth + 1);
            return;
        }
        HashSet<string>? objectNames = null;
        var additionalForbidden = false;
        SchemaPart? additionalSchema = null;
        JsonElement? itemsArray = null;
        (string, string, SchemaPart)? patternProperty = null;
        foreach (var kw in s.EnumerateObject())
        {
            var ptr = part.Pointer + "/" + Escape(kw.Name);
            var v = kw.Value;
            switch (kw.Name)
            {
                case "$ref":
                    if (v.ValueKind != JsonValueKind.String)
                        throw Error(ptr, "$ref must be a string");
                    Collect(Resolve(v.GetString()!, ptr) with { NoCombinators = noCombinators }, m, noCombinators, refDepth + 1);
                    break;
                case "allOf":
                    foreach (var (sub, i) in Array(v, ptr).Select((x, i) => (x, i)))
                        Collect(new SchemaPart(sub, ptr + "/" + i, noCombinators), m, noCombinators, refDepth + 1);
                    break;
                case "anyOf":
                case "oneOf":
                    if (noCombinators)
                        break;
                    m.Constrained = true;
                    m.Groups.Add((Array(v, ptr).Select((x, i) => new SchemaPart(x, ptr + "/" + i)).ToList(),
                        kw.Name == "oneOf", ptr));
                    break;
                case "type":
                {
                    var set = new HashSet<string>();
                    if (v.ValueKind == JsonValueKind.String)
                        set.Add(v.GetString()!);
                    else
                        foreach (var t in Array(v, ptr))
                            set.Add(t.ValueKind == JsonValueKind.String ? t.GetString()! : throw Error(ptr, "type entries must be strings"));
                    foreach (var t in set)
                        if (t is not ("null" or "boolean" or "integer" or "number" or "string" or "array" or "object"))
                            throw Error(ptr, $"unknown type \"{t}\"");
                    if (set.Contains("number"))
                        set.Add("integer");
                    m.Constrained = true;
                    if (m.Types is null)
                        m.Types = set;
                    else
                        m.Types.IntersectWith(set);
                    break;
                }
                case "nullable":
                    if (v.ValueKind == JsonValueKind.True)
                        m.Nullable = true;
                    break;
                case "properties":
                    if (v.ValueKind != JsonValueKind.Object)
                        throw Error(ptr, "properties must be an object");
                    m.Constrained = true;
                    objectNames ??= new HashSet<string>();
                    foreach (var p in v.EnumerateObject())
                    {
                        objectNames.Add(p.Name);
                        if (!m.Properties.TryGetValue(p.Name, out var list))
                        {
                            list = new List<SchemaPart>();
                            m.Properties[p.Name] = list;
                            m.PropertyOrder.Add(p.Name);
                        }
                        list.Add(new SchemaPart(p.Value, ptr + "/" + Escape(p.Name)));
                    }
                    break;
                case "required":
                    m.Constrained = true;
                    foreach (var r in Array(v, ptr))
                        if (m.Required.Add(r.ValueKind == JsonValueKind.String ? r.GetString()! : throw Error(ptr, "required entries must be strings")))
                            m.RequiredOrder.Add(r.GetString()!);
                    break;
                case "additionalProperties":
                    m.Constrained = true;
                    objectNames ??= new HashSet<string>();
                    if (v.ValueKind == JsonValueKind.False)
                        additionalForbidden = true;
                    else if (v.ValueKind != JsonValueKind.True)
                        additionalSchema = new SchemaPart(v, ptr);
                    break;
                case "items":
                    m.Constrained = true;
                    if (v.ValueKind == JsonValueKind.Array)
                    {
                        itemsArray = v;
                        SetPrefix(m, v, ptr);
                    }
                    else if (v.ValueKind == JsonValueKind.False)
                        m.ItemsForbidden = true;
                    else if (v.ValueKind != JsonValueKind.True)
                        m.Items.Add(new SchemaPart(v, ptr));
                    break;
                case "prefixItems":
                    m.Constrained = true;
                    SetPrefix(m, v, ptr);
                    break;
                case "additionalItems":
                    if (itemsArray is null && !(s.TryGetProperty("items", out var it) && it.ValueKind == JsonValueKind.Array))
                        break; // Ignored by the spec unless items is an array.
                    m.Constrained = true;
                    if (v.ValueKind == JsonValueKind.False)
                        m.ItemsForbidden = true;
                    else if (v.ValueKind != JsonValueKind.True)
                        m.Items.Add(new SchemaPart(v, ptr));
                    break;
                case "minItems":
                    m.Constrained = true;
                    m.MinItems = Math.Max(m.MinItems, Count(v, ptr));
                    break;
                case "maxItems":
                    m.Constrained = true;
                    m.MaxItems = Math.Min(m.MaxItems ?? long.MaxValue, Count(v, ptr));
                    break;
                case "minProperties":
                {
                    var n = Count(v, ptr);
                    if (n > 0)
                    {
                        m.Constrained = true;
                        if (m.MinProperties is null || n > m.MinProperties.Value.Value)
                            m.MinProperties = (n, ptr);
                    }
                    break;
                }
                case "maxProperties":
                {
                    m.Constrained = true;
                    var n = Count(v, ptr);
                    if (m.MaxProperties is null || n < m.MaxProperties.Value.Value)
                        m.MaxProperties = (n, ptr);
                    break;
                }
                case "minLength":
                    m.Constrained = true;
                    m.MinLength = Math.Max(m.MinLength, Count(v, ptr));
                    break;
                case "maxLength":
                    m.Constrained = true;
                    m.MaxLength = Math.Min(m.MaxLength ?? long.MaxValue, Count(v, ptr));
                    break;
                case "pattern":
                    m.Constrained = true;
                    m.Patterns.Add((v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Error(ptr, "pattern must be a string"), ptr));
                    break;
                case "format":
                    m.Constrained = true;
                    m.Formats.Add((v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Error(ptr, "format must be a string"), ptr));
                    break;
                case "minimum":
                    m.Constrained = true;
                    m.TightenMinimum(Number(v, ptr), s.TryGetProperty("exclusiveMinimum", out var exMin) && exMin.ValueKind == JsonValueKind.True);
                    break;
                case "maximum":
                    m.Constrained = true;
                    m.TightenMaximum(Number(v, ptr), s.TryGetProperty("exclusiveMaximum", out var exMax) && exMax.ValueKind == JsonValueKind.True);
                    break;
                case "exclusiveMinimum":
                    if (v.ValueKind == JsonValueKind.Number)
                    {
                        m.Constrained = true;
                        m.TightenMinimum(Number(v, ptr), true);
                    }
                    else if (v.ValueKind == JsonValueKind.True && !s.TryGetProperty("minimum", out _))
                        throw Error(ptr, "exclusiveMinimum: true without minimum");
                    break;
                case "exclusiveMaximum":
                    if (v.ValueKind == JsonValueKind.Number)
                    {
                        m.Constrained = true;
                        m.TightenMaximum(Number(v, ptr), true);
                    }
                    else if (v.ValueKind == JsonValueKind.True && !s.TryGetProperty("maximum", out _))
                        throw Error(ptr, "exclusiveMaximum: true without maximum");
                    break;
                case "enum":
                    m.Constrained = true;
                    IntersectEnum(m, Array(v, ptr).ToList(), ptr);
                    break;
                case "const":
                    m.Constrained = true;
                    IntersectEnum(m, [v], ptr);
                    break;
                case "patternProperties":
                {
                    if (v.ValueKind != JsonValueKind.Object)
                        throw Error(ptr, "patternProperties must be an object");
                    var entries = v.EnumerateObject().ToList();
                    if (entries.Count == 0)
                        break;
                    if (entries.Count > 1)
                        throw Error(ptr, "keyword \"patternProperties\" is supported with one pattern only");
                    m.Constrained = true;
                    objectNames ??= new HashSet<string>();
                    patternProperty = (entries[0].Name, ptr, new SchemaPart(entries[0].Value, ptr + "/" + Escape(entries[0].Name)));
                    break;
                }
                case "multipleOf":
                    m.Constrained = true;
                    m.MultipleOf = (Number(v, ptr), ptr);
                    break;
                default:
                    if (SchemaKeywords.Unsupported.Contains(kw.Name) && !IsTrivial(kw.Name, v))
                        throw Error(ptr, $"keyword \"{kw.Name}\" is not supported");
                    break;
            }
        }
        if (objectNames is not null)
        {
            if (patternProperty is not null && m.ObjectParts.Any(op => op.PatternProperty is not null))
                throw Error(part.Pointer, "keyword \"patternProperties\" in more than one allOf branch is not supported");
            m.ObjectParts.Add(new ObjectPart(objectNames, additionalForbidden, additionalSchema, patternProperty));
        }
    }

    private static bool IsTrivial(string keyword, JsonElement v) => keyword switch
    {
        "uniqueItems" => v.ValueKind == JsonValueKind.False,
        "minContains" => v.ValueKind == JsonValueKind.Number && v.GetDouble() == 0,
        "patternProperties" or "dependencies" or "dependentRequired" or "dependentSchemas" =>
            v.ValueKind == JsonValueKind.Object && !v.EnumerateObject().Any(),
        "propertyNames" or "unevaluatedProperties" or "unevaluatedItems" => v.ValueKind == JsonValueKind.True ||
            (v.ValueKind == JsonValueKind.Object && !v.EnumerateObject().Any()),
        "then" or "else" or "$dynamicAnchor" or "$recursiveAnchor" => true, // without "if" they assert nothing
        _ => false,
    };

    private void SetPrefix(MergedSchema m, JsonElement v, string ptr)
    {
        if (m.Prefix is not null)
            throw Error(ptr, "prefixItems/items arrays in more than one allOf branch are not supported");
        m.Prefix = Array(v, ptr).Select((x, i) => new List<SchemaPart> { new(x, ptr + "/" + i) }).ToList();
    }

    private void IntersectEnum(MergedSchema m, List<JsonElement> values, string ptr)
    {
        if (m.Enum is null)
        {
            m.Enum = values;
            m.EnumPointer = ptr;
            return;
        }
        var texts = values.Select(JsonCompact.Serialize).ToHashSet();
        m.Enum = m.Enum.Where(e => texts.Contains(JsonCompact.Serialize(e))).ToList();
    }

    private IEnumerable<JsonElement> Array(JsonElement v, string ptr) =>
        v.ValueKind == JsonValueKind.Array ? v.EnumerateArray() : throw Error(ptr, "must be an array");

    private long Count(JsonElement v, string ptr)
    {
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDecimal(out var d) || d < 0 || d != decimal.Floor(d))
            throw Error(ptr, "must be a non-negative integer");
        return d > long.MaxValue ? long.MaxValue : (long)d;
    }

    private decimal Number(JsonElement v, string ptr)
    {
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDecimal(out var d))
            throw Error(ptr, "must be a number within decimal range");
        return d;
    }
}
