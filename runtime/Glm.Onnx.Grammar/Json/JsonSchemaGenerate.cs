using System.Numerics;
using System.Text.Json;
using Glm.Onnx.Grammar.Regex;

namespace Glm.Onnx.Grammar.Json;

/// <summary>Grammar rules from a merged schema, one alternative per allowed JSON type.</summary>
internal sealed partial class JsonSchemaCompiler
{
    private void Generate(int nt, MergedSchema m, string ptr)
    {
        if (m.Nothing)
            return; // no rules: matches nothing (false schema, empty enum intersection)
        if (!m.Constrained)
        {
            _gb.AddRule(nt, AnyValue());
            return;
        }
        var types = m.Types ?? ["null", "boolean", "integer", "number", "string", "array", "object"];
        if (m.Nullable)
            types.Add("null");
        if (m.Enum is not null)
        {
            GenerateEnum(nt, m, types);
            return;
        }
        if (m.MultipleOf is { } mul && !(types.Contains("integer") && !types.Contains("number") && mul.Value == 1))
            throw Error(mul.Pointer, "keyword \"multipleOf\" is not supported (except 1 on integers)");
        if (types.Contains("null"))
            _gb.AddRule(nt, Lex(_rx.Literal("null"), "null"));
        if (types.Contains("boolean"))
            _gb.AddRule(nt, Lex(_rx.Or(_rx.Literal("true"), _rx.Literal("false")), "boolean"));
        if (types.Contains("number"))
            _gb.AddRule(nt, Lex(NumberLexeme(m, integer: false, ptr), "number"));
        else if (types.Contains("integer"))
            _gb.AddRule(nt, Lex(NumberLexeme(m, integer: true, ptr), "integer"));
        if (types.Contains("string"))
        {
            var body = StringBody(m);
            if (body != RegexBuilder.Nothing)
                _gb.AddRule(nt, Lex(JsonStringRegex.Quoted(_rx, body), "string"));
        }
        if (types.Contains("array"))
            GenerateArray(nt, m);
        if (types.Contains("object"))
            GenerateObject(nt, m, ptr);
    }

    private int AnyValue()
    {
        if (_anyValue >= 0)
            return _anyValue;
        var v = _anyValue = _gb.NewNonterminal("<any>");
        var obj = _gb.NewNonterminal("<any-object>");
        var members = _gb.NewNonterminal("<any-members>");
        var arr = _gb.NewNonterminal("<any-array>");
        var elems = _gb.NewNonterminal("<any-elements>");
        var str = Lex(JsonStringRegex.Quoted(_rx, _rx.Star(JsonStringRegex.AnyChar(_rx))), "string");
        _gb.AddRule(v, obj);
        _gb.AddRule(v, arr);
        _gb.AddRule(v, str);
        _gb.AddRule(v, Lex(NumberRegex.AnyNumber(_rx), "number"));
        _gb.AddRule(v, Lex(_rx.Or([_rx.Literal("true"), _rx.Literal("false"), _rx.Literal("null")]), "literal"));
        _gb.AddRule(obj, _lBrace, _rBrace);
        _gb.AddRule(obj, _lBrace, members, _rBrace);
        _gb.AddRule(members, str, _colon, v);
        _gb.AddRule(members, members, _comma, str, _colon, v);
        _gb.AddRule(arr, _lBrack, _rBrack);
        _gb.AddRule(arr, _lBrack, elems, _rBrack);
        _gb.AddRule(elems, v);
        _gb.AddRule(elems, elems, _comma, v);
        return v;
    }

    private int NumberLexeme(MergedSchema m, bool integer, string ptr)
    {
        if (m.Minimum is null && m.Maximum is null)
            return integer ? NumberRegex.AnyInteger(_rx) : NumberRegex.AnyNumber(_rx);
        if (integer)
        {
            BigInteger? lo = m.Minimum is { } mn ? (m.MinimumExclusive ? MergedSchema.Floor(mn) + 1 : MergedSchema.Ceiling(mn)) : null;
            BigInteger? hi = m.Maximum is { } mx ? (m.MaximumExclusive ? MergedSchema.Ceiling(mx) - 1 : MergedSchema.Floor(mx)) : null;
            return NumberRegex.IntegerRange(_rx, lo, hi);
        }
        return NumberRegex.DecimalRange(_rx, m.Minimum, m.MinimumExclusive, m.Maximum, m.MaximumExclusive);
    }

    private int StringBody(MergedSchema m)
    {
        if (m.MinLength == 0 && m.MaxLength is null && m.Patterns.Count == 0 && m.Formats.Count == 0)
            return _rx.Star(JsonStringRegex.AnyChar(_rx));
        if (m.MaxLength is { } max && max < m.MinLength)
            return RegexBuilder.Nothing;
        if (m.MinLength > 1_000_000 || m.MaxLength is > 1_000_000 and < long.MaxValue)
            throw Error("", "minLength/maxLength above 1000000 are not supported");
        var ch = JsonStringRegex.Char(_rx, CodePointSet.All);
        var body = _rx.Repeat(ch, (int)m.MinLength, m.MaxLength is { } mx && mx < long.MaxValue ? (int)mx : -1);
        foreach (var (pattern, pptr) in m.Patterns)
        {
            try
            {
                body = _rx.And(body, EcmaPattern.Compile(_rx, pattern));
            }
            catch (GrammarException e)
            {
                throw Error(pptr, e.Message);
            }
        }
        foreach (var (format, fptr) in m.Formats)
        {
            if (StringFormats.Compile(_rx, format) is { } f)
                body = _rx.And(body, f);
            else if (StringFormats.IsStandard(format))
                throw Error(fptr, $"format \"{format}\" is not supported (supported: {string.Join(", ", StringFormats.Supported)})");
            // else: a format name no JSON Schema draft defines asserts nothing (docs/structured-output.md).
        }
        return body;
    }

    private void GenerateArray(int nt, MergedSchema m)
    {
        var prefix = m.Prefix ?? [];
        var min = m.MinItems;
        var max = m.ItemsForbidden ? Math.Min(m.MaxItems ?? long.MaxValue, prefix.Count) : m.MaxItems ?? long.MaxValue;
        if (max < min)
            return;
        var explicitCount = Math.Max(prefix.Count, min);
        if (explicitCount > MaxExpandedCount || (max < long.MaxValue && max > MaxExpandedCount))
            throw Error("", $"array bounds above {MaxExpandedCount} items are not supported");
        var items = m.Items.Count == 0 ? AnyValue() : CompileParts(m.Items);
        int ItemAt(long j) => j < prefix.Count ? CompileParts(prefix[(int)j]) : items;

        // A[j]: the rest of the list after j items. Positions below explicitCount are spelled out; then a loop or a
        // bounded chain of the items schema.
        var count = (int)Math.Min(max, explicitCount);
        var a = new int[count + 1];
        for (var j = 0; j <= count; j++)
            a[j] = _gb.NewNonterminal($"<array-{j}>");
        for (var j = 0; j < count; j++)
        {
            if (j >= min)
                _gb.AddRule(a[j]);
            if (j == 0)
                _gb.AddRule(a[j], ItemAt(j), a[j + 1]);
            else
                _gb.AddRule(a[j], _comma, ItemAt(j), a[j + 1]);
        }
        var tail = a[count];
        if (count >= max)
        {
            _gb.AddRule(tail);
        }
        else if (max == long.MaxValue)
        {
            // tail -> eps | (sep) item more ; more -> eps | more , item
            var more = _gb.NewNonterminal("<array-more>");
            _gb.AddRule(more);
            _gb.AddRule(more, more, _comma, items);
            _gb.AddRule(tail);
            if (count == 0)
                _gb.AddRule(tail, items, more);
            else
                _gb.AddRule(tail, _comma, items, more);
        }
        else
        {
            var prev = tail;
            for (var j = count; j < max; j++)
            {
                var next = _gb.NewNonterminal($"<array-{j + 1}>");
                _gb.AddRule(prev);
                if (j == 0)
                    _gb.AddRule(prev, items, next);
                else
                    _gb.AddRule(prev, _comma, items, next);
                prev = next;
            }
            _gb.AddRule(prev);
        }
        _gb.AddRule(nt, _lBrack, a[0], _rBrack);
    }

    private void GenerateObject(int nt, MergedSchema m, string ptr)
    {
        // Properties in definition order; a name another conjunct forbids (additionalProperties: false) is dropped.
        var names = new List<string>(m.PropertyOrder);
        foreach (var r in m.RequiredOrder)
            if (!m.Properties.ContainsKey(r))
                names.Add(r);
        var props = new List<(string Name, List<SchemaPart> Parts, bool Required)>();
        foreach (var name in names)
        {
            var parts = m.Properties.TryGetValue(name, out var l) ? new List<SchemaPart>(l) : new List<SchemaPart>();
            var forbidden = false;
            foreach (var op in m.ObjectParts)
            {
                if (op.Names.Contains(name))
                    continue;
                if (op.AdditionalForbidden)
                    forbidden = true;
                else if (op.AdditionalSchema is { } extra)
                    parts.Add(extra);
            }
            if (forbidden)
            {
                if (m.Required.Contains(name))
                    return; // a required property no conjunct allows: no object is valid
                continue;
            }
            props.Add((name, parts, m.Required.Contains(name)));
        }
        var extrasAllowed = m.ObjectParts.All(op => !op.AdditionalForbidden);
        var extraParts = m.ObjectParts.Where(op => op.AdditionalSchema is not null).Select(op => op.AdditionalSchema!.Value).ToList();
        var patternOwner = m.ObjectParts.FirstOrDefault(op => op.PatternProperty is not null);
        int patternBody = RegexBuilder.Nothing;
        if (patternOwner?.PatternProperty is { } pp)
        {
            try
            {
                patternBody = EcmaPattern.Compile(_rx, pp.Pattern);
            }
            catch (GrammarException e)
            {
                throw Error(pp.Pointer, e.Message);
            }
            // A named property whose name matches the pattern must satisfy the pattern's schema too.
            for (var i = 0; i < props.Count; i++)
                if (MatchesBody(patternBody, props[i].Name))
                    props[i].Parts.Add(pp.Schema);
        }
        // minProperties/maxProperties: enforced when the required properties already satisfy them, when "at least one"
        // can be spelled by the grammar, or when no more properties than the bound can ever be present.
        var requiredCount = props.Count(p => p.Required);
        var nonEmpty = false;
        if (m.MinProperties is { } minP && minP.Value > requiredCount)
        {
            if (minP.Value > 1)
                throw Error(minP.Pointer, "keyword \"minProperties\" above 1 is supported only when required properties satisfy it");
            nonEmpty = true;
        }
        if (m.MaxProperties is { } maxP && (extrasAllowed || patternOwner is not null || maxP.Value < props.Count))
            throw Error(maxP.Pointer, "keyword \"maxProperties\" is supported only when no more properties than it can be present");
        // Additional properties come after the named ones; their keys are any string but the named keys. Keys matching
        // patternProperties take the pattern's schema (and whatever other conjuncts say about unnamed keys).
        var anyKey = JsonStringRegex.Quoted(_rx, _rx.Star(JsonStringRegex.AnyChar(_rx)));
        var notNamed = _rx.Not(_rx.Or(names.Select(name => _rx.Literal("\"" + JsonStringRegex.Escape(name) + "\""))));
        var pairs = new List<(int Key, int Value)>();
        if (patternOwner?.PatternProperty is { } pat)
        {
            var patternKey = JsonStringRegex.Quoted(_rx, _rx.And(_rx.Star(JsonStringRegex.AnyChar(_rx)), patternBody));
            var others = m.ObjectParts.Where(op => !ReferenceEquals(op, patternOwner)).ToList();
            if (others.All(op => !op.AdditionalForbidden))
            {
                var parts = new List<SchemaPart> { pat.Schema };
                parts.AddRange(others.Where(op => op.AdditionalSchema is not null).Select(op => op.AdditionalSchema!.Value));
                pairs.Add((Lex(_rx.And(_rx.And(anyKey, notNamed), patternKey), "pattern key"), CompileParts(parts)));
            }
            if (extrasAllowed)
            {
                var value = extraParts.Count == 0 ? AnyValue() : CompileParts(extraParts);
                pairs.Add((Lex(_rx.And(_rx.And(anyKey, notNamed), _rx.Not(patternKey)), "additional key"), value));
            }
        }
        else if (extrasAllowed)
        {
            var value = extraParts.Count == 0 ? AnyValue() : CompileParts(extraParts);
            pairs.Add((Lex(_rx.And(anyKey, notNamed), "additional key"), value));
        }
        if (props.Count <= MaxAnyOrderProperties)
        {
            EmitAnyOrderObject(nt, props, pairs, nonEmpty, ptr);
            return;
        }
        // Too many named properties for a key set: definition order; when it differs, the order "required properties
        // as the required list names them, then the others in definition order" is offered as well (both keep every
        // property at most once).
        EmitObjectChain(nt, props, pairs, nonEmpty, ptr + "<def>");
        var byName = props.ToDictionary(p => p.Name);
        var requiredFirst = m.RequiredOrder.Where(byName.ContainsKey).Select(r => byName[r])
            .Concat(props.Where(p => !p.Required)).ToList();
        if (!requiredFirst.Select(p => p.Name).SequenceEqual(props.Select(p => p.Name)))
            EmitObjectChain(nt, requiredFirst, pairs, nonEmpty, ptr + "<req>");
    }

    /// <summary>Named properties (each carries one bit of the parser's per-item key set) and additional ones in any
    /// order: members -> pair | members , pair, where a named key is refused once its bit is set and the object closes
    /// only when every required bit is set (docs/structured-output.md). The grammar stays linear in the number of
    /// properties.</summary>
    private void EmitAnyOrderObject(int nt, List<(string Name, List<SchemaPart> Parts, bool Required)> props,
        List<(int Key, int Value)> pairs, bool nonEmpty, string ptr)
    {
        var members = _gb.NewNonterminal($"{ptr}<members>");
        var body = _gb.NewNonterminal($"{ptr}<body>");
        _gb.MarkKeyCarrier(members);
        long required = 0;
        for (var i = 0; i < props.Count; i++)
        {
            _clock.Check();
            var (name, parts, isRequired) = props[i];
            var bit = 1L << i;
            if (isRequired)
                required |= bit;
            var key = Lex(_rx.Literal("\"" + JsonStringRegex.Escape(name) + "\""), "key " + name);
            var value = parts.Count == 0 ? AnyValue() : CompileParts(parts);
            _gb.AddKeyedRule(members, [key, _colon, value], 0, bit, 0);
            _gb.AddKeyedRule(members, [members, _comma, key, _colon, value], 2, bit, 0);
        }
        foreach (var (key, value) in pairs)
        {
            _gb.AddRule(members, key, _colon, value);
            _gb.AddRule(members, members, _comma, key, _colon, value);
        }
        if (props.Count > 0 || pairs.Count > 0)
            _gb.AddKeyedRule(body, [members], -1, 0, required);
        if (required == 0 && !nonEmpty)
            _gb.AddRule(nt, _lBrace, _rBrace);
        _gb.AddRule(nt, _lBrace, body, _rBrace);
    }

    private void EmitObjectChain(int nt, List<(string Name, List<SchemaPart> Parts, bool Required)> props,
        List<(int Key, int Value)> pairs, bool nonEmpty, string ptr)
    {
        var n = props.Count;
        var first = new int[n + 1];
        var rest = new int[n + 1];
        for (var i = 0; i <= n; i++)
        {
            first[i] = _gb.NewNonterminal($"{ptr}<first-{i}>");
            rest[i] = _gb.NewNonterminal($"{ptr}<rest-{i}>");
        }
        for (var i = 0; i < n; i++)
        {
            var (name, parts, required) = props[i];
            var key = Lex(_rx.Literal("\"" + JsonStringRegex.Escape(name) + "\""), "key " + name);
            var value = parts.Count == 0 ? AnyValue() : CompileParts(parts);
            _gb.AddRule(first[i], key, _colon, value, rest[i + 1]);
            _gb.AddRule(rest[i], _comma, key, _colon, value, rest[i + 1]);
            if (!required)
            {
                _gb.AddRule(first[i], first[i + 1]);
                _gb.AddRule(rest[i], rest[i + 1]);
            }
        }
        _gb.AddRule(first[n]);
        _gb.AddRule(rest[n]);
        foreach (var (key, value) in pairs)
        {
            var more = _gb.NewNonterminal($"{ptr}<additional>");
            _gb.AddRule(more);
            foreach (var (k2, v2) in pairs)
                _gb.AddRule(more, more, _comma, k2, _colon, v2);
            _gb.AddRule(first[n], key, _colon, value, more);
            _gb.AddRule(rest[n], _comma, key, _colon, value, more);
        }
        if (!nonEmpty)
        {
            _gb.AddRule(nt, _lBrace, first[0], _rBrace);
            return;
        }
        // At least one property: like first[], but the all-absent path is missing.
        var some = new int[n + 1];
        for (var i = 0; i <= n; i++)
            some[i] = _gb.NewNonterminal($"{ptr}<some-{i}>");
        for (var i = 0; i < n; i++)
        {
            var (name, parts, required) = props[i];
            var key = Lex(_rx.Literal("\"" + JsonStringRegex.Escape(name) + "\""), "key " + name);
            var value = parts.Count == 0 ? AnyValue() : CompileParts(parts);
            _gb.AddRule(some[i], key, _colon, value, rest[i + 1]);
            if (!required)
                _gb.AddRule(some[i], some[i + 1]);
        }
        // some[n]: only additional properties remain, and there must be one: first[n] minus its empty rule.
        foreach (var (key, value) in pairs)
        {
            var more = _gb.NewNonterminal($"{ptr}<some-additional>");
            _gb.AddRule(more);
            foreach (var (k2, v2) in pairs)
                _gb.AddRule(more, more, _comma, k2, _colon, v2);
            _gb.AddRule(some[n], key, _colon, value, more);
        }
        _gb.AddRule(nt, _lBrace, some[0], _rBrace);
    }

    private bool MatchesBody(int body, string value)
    {
        var node = body;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(JsonStringRegex.Escape(value)))
            node = _rx.Derive(node, b);
        return _rx.IsNullable(node);
    }

    private void GenerateEnum(int nt, MergedSchema m, HashSet<string> types)
    {
        var literals = new List<int>();
        foreach (var value in m.Enum!)
        {
            _clock.Check();
            if (!EnumValueAllowed(value, m, types))
                continue;
            literals.Add(_rx.Literal(JsonCompact.Serialize(value)));
        }
        if (literals.Count > 0)
            _gb.AddRule(nt, Lex(_rx.Or(literals), "enum"));
    }

    /// <summary>An enum/const value is kept only if the other keywords of the conjunction allow it; keywords this
    /// check cannot evaluate on such a value are a compile error rather than a guess.</summary>
    private bool EnumValueAllowed(JsonElement value, MergedSchema m, HashSet<string> types)
    {
        var ptr = m.EnumPointer ?? "";
        switch (value.ValueKind)
        {
            case JsonValueKind.Null:
                return types.Contains("null");
            case JsonValueKind.True or JsonValueKind.False:
                return types.Contains("boolean");
            case JsonValueKind.Number:
            {
                var d = value.GetDecimal();
                var isInt = d == decimal.Floor(d);
                if (!(types.Contains("number") || (types.Contains("integer") && isInt)))
                    return false;
                if (m.Minimum is { } mn && (d < mn || (m.MinimumExclusive && d == mn)))
                    return false;
                if (m.Maximum is { } mx && (d > mx || (m.MaximumExclusive && d == mx)))
                    return false;
                if (m.MultipleOf is { } mul && mul.Value != 0 && d % mul.Value != 0)
                    return false;
                return true;
            }
            case JsonValueKind.String:
            {
                if (!types.Contains("string"))
                    return false;
                var s = value.GetString()!;
                var len = s.EnumerateRunes().Count();
                if (len < m.MinLength || (m.MaxLength is { } mx && len > mx))
                    return false;
                if (m.Patterns.Count > 0 || m.Formats.Count > 0)
                {
                    // Run the value through the same byte regexes the grammar would use.
                    var body = StringBody(m);
                    var node = body;
                    foreach (var b in System.Text.Encoding.UTF8.GetBytes(JsonStringRegex.Escape(s)))
                        node = _rx.Derive(node, b);
                    return _rx.IsNullable(node);
                }
                return true;
            }
            case JsonValueKind.Array:
                if (!types.Contains("array"))
                    return false;
                if (m.Items.Count > 0 || m.Prefix is not null || m.MinItems > 0 || m.MaxItems is not null)
                    throw Error(ptr, "enum/const arrays combined with array keywords are not supported");
                return true;
            default:
                if (!types.Contains("object"))
                    return false;
                if (m.Properties.Count > 0 || m.Required.Count > 0 || m.ObjectParts.Count > 0)
                    throw Error(ptr, "enum/const objects combined with object keywords are not supported");
                return true;
        }
    }

    /// <summary>oneOf is compiled as anyOf, which is exact only when no value matches two branches: accept it when the
    /// branches are provably disjoint (different types, different literal values, or a required property whose
    /// literal values differ), else refuse it.</summary>
    private void CheckDisjoint(List<SchemaPart> branches, string ptr, MergedSchema context)
    {
        var infos = new List<(HashSet<string> Types, HashSet<string>? Literals, Dictionary<string, HashSet<string>> Tags)>();
        var objectShapes = new List<(HashSet<string> Required, Func<string, bool> Allows)>();
        foreach (var b in branches)
        {
            var m = new MergedSchema();
            Collect(b, m, noCombinators: true, 0);
            var types = m.Types is { } t ? new HashSet<string>(t) : ["null", "boolean", "integer", "number", "string", "array", "object"];
            if (context.Types is { } ct)
                types.IntersectWith(ct);
            if (m.Nullable)
                types.Add("null");
            // Reduce types to JSON kinds (integer is a number).
            if (types.Remove("integer"))
                types.Add("number");
            var literals = m.Enum?.Select(JsonCompact.Serialize).ToHashSet();
            var tags = new Dictionary<string, HashSet<string>>();
            foreach (var name in m.Required)
            {
                if (!m.Properties.TryGetValue(name, out var parts))
                    continue;
                var pm = new MergedSchema();
                foreach (var p in parts)
                    Collect(p, pm, noCombinators: true, 0);
                if (pm.Enum is not null)
                    tags[name] = pm.Enum.Select(JsonCompact.Serialize).ToHashSet();
            }
            infos.Add((types, literals, tags));
            var closed = m.ObjectParts.Where(op => op.AdditionalForbidden && op.PatternProperty is null).ToList();
            objectShapes.Add((new HashSet<string>(m.Required), name => closed.All(op => op.Names.Contains(name))));
        }
        for (var i = 0; i < infos.Count; i++)
            for (var j = i + 1; j < infos.Count; j++)
            {
                var (ti, li, gi) = infos[i];
                var (tj, lj, gj) = infos[j];
                if (!ti.Overlaps(tj))
                    continue;
                if (li is not null && lj is not null && !li.Overlaps(lj))
                    continue;
                if (li is not null && lj is null && !li.Any(l => KindOf(l) is { } k && tj.Contains(k)))
                    continue;
                if (lj is not null && li is null && !lj.Any(l => KindOf(l) is { } k && ti.Contains(k)))
                    continue;
                var onlyObjects = ti.All(t => t == "object") || tj.All(t => t == "object");
                if (onlyObjects && gi.Any(kv => gj.TryGetValue(kv.Key, out var other) && !kv.Value.Overlaps(other)))
                    continue;
                // A property one branch requires and the other forbids (additionalProperties: false).
                if (onlyObjects && (objectShapes[i].Required.Any(r => !objectShapes[j].Allows(r)) ||
                                    objectShapes[j].Required.Any(r => !objectShapes[i].Allows(r))))
                    continue;
                throw Error(ptr, $"keyword \"oneOf\": branches {i} and {j} may both match (exclusivity is not enforced)");
            }
    }

    private static string? KindOf(string literal) => literal[0] switch
    {
        '"' => "string",
        '{' => "object",
        '[' => "array",
        't' or 'f' => "boolean",
        'n' => "null",
        _ => "number",
    };
}
