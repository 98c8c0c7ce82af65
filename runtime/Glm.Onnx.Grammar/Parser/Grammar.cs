namespace Glm.Onnx.Grammar.Parser;

/// <summary>
/// A context-free grammar over lexemes, laid flat for the Earley parser: every rule's right-hand side sits in
/// <see cref="Program"/> followed by an end marker, so an item is just (position, origin row).
/// Symbols: nonterminal n &gt;= 0, lexeme l as -(l + 1), rule end as <see cref="End"/>.
/// </summary>
internal sealed class Grammar
{
    public const int End = int.MinValue;

    public Grammar(int[] program, int[] lhsAtEnd, int[][] rulesOf, bool[] nullable, string[] names, int startRulePos,
        long[] keyBit, long[] requiredAtEnd, bool[] carriesKeys)
    {
        KeyBit = keyBit;
        PendingKeyBit = new long[keyBit.Length];
        long pending = 0;
        for (var pos = program.Length - 1; pos >= 0; pos--)
        {
            if (program[pos] == End)
                pending = 0;
            else if (keyBit[pos] != 0)
                pending = keyBit[pos];
            PendingKeyBit[pos] = pending;
        }
        RequiredAtEnd = requiredAtEnd;
        CarriesKeys = carriesKeys;
        Program = program;
        LhsAtEnd = lhsAtEnd;
        RulesOf = rulesOf;
        Nullable = nullable;
        Names = names;
        StartRulePos = startRulePos;
    }

    public int[] Program { get; }

    /// <summary>For an end-marker position, the nonterminal the rule defines.</summary>
    public int[] LhsAtEnd { get; }

    /// <summary>Per nonterminal, the program positions where its rules start.</summary>
    public int[][] RulesOf { get; }

    public bool[] Nullable { get; }

    public string[] Names { get; }

    /// <summary>Position of the augmented rule S' -> S; the input is complete when its end is reached from row 0.</summary>
    public int StartRulePos { get; }

    /// <summary>Per program position: for a key lexeme of an any-order object, the bit it adds to the item's key set
    /// (scanning it is refused when the bit is already set: a key appears at most once); 0 elsewhere.</summary>
    public long[] KeyBit { get; }

    /// <summary>Per program position: the bit of the key lexeme at or after it in its rule (0 when none). An item whose
    /// key set already holds it is dead (that key cannot come twice), so the parser never adds it: otherwise the mask
    /// would offer the key's first bytes, or the comma before it, with no way to go on.</summary>
    public long[] PendingKeyBit { get; }

    /// <summary>Per program position: at a rule's end marker, the key bits that must all be set for the rule to
    /// complete (an object's required properties); 0 elsewhere.</summary>
    public long[] RequiredAtEnd { get; }

    /// <summary>Per nonterminal: completing it hands the child's key set to the parent item (the list of an any-order
    /// object's members); other nonterminals keep the parent's set.</summary>
    public bool[] CarriesKeys { get; }

    public static int Lexeme(int lexeme) => -(lexeme + 1);

    public static bool IsLexeme(int symbol) => symbol < 0 && symbol != End;

    public static int LexemeOf(int symbol) => -symbol - 1;
}

/// <summary>Collects rules, then lays them out into a <see cref="Grammar"/>.</summary>
internal sealed class GrammarBuilder
{
    private readonly List<string> _names = new();
    private readonly List<(int Lhs, int[] Rhs)> _rules = new();
    private readonly Dictionary<int, (int Symbol, long Bit)> _keyBits = new();
    private readonly Dictionary<int, long> _required = new();
    private readonly HashSet<int> _carriers = new();

    public int MaxRules { get; set; } = 500_000;

    public int NonterminalCount => _names.Count;

    public int NewNonterminal(string name)
    {
        _names.Add(name);
        return _names.Count - 1;
    }

    /// <summary>Adds lhs -> rhs; rhs holds nonterminals (&gt;= 0) and <see cref="Grammar.Lexeme"/> symbols.</summary>
    public void AddRule(int lhs, params int[] rhs)
    {
        if (_rules.Count >= MaxRules)
            throw new GrammarException($"the grammar grew past {MaxRules} rules");
        _rules.Add((lhs, rhs));
    }

    /// <summary>Adds lhs -> rhs where rhs[<paramref name="keySymbol"/>] is a key lexeme of an any-order object that
    /// adds <paramref name="bit"/> to the key set (or -1 for none), and the rule completes only when the key set holds
    /// every bit of <paramref name="required"/>.</summary>
    public void AddKeyedRule(int lhs, int[] rhs, int keySymbol, long bit, long required)
    {
        AddRule(lhs, rhs);
        if (keySymbol >= 0 && bit != 0)
            _keyBits[_rules.Count - 1] = (keySymbol, bit);
        if (required != 0)
            _required[_rules.Count - 1] = required;
    }

    /// <summary>Marks <paramref name="nt"/> as handing its key set to the parent on completion; it must not be
    /// nullable (the parser completes nullable nonterminals at prediction time, before any key set exists).</summary>
    public void MarkKeyCarrier(int nt) => _carriers.Add(nt);

    public Grammar Build(int start)
    {
        var program = new List<int>();
        var lhsAtEnd = new List<int>();
        var keyBit = new List<long>();
        var requiredAtEnd = new List<long>();
        var rulesOf = new List<int>[_names.Count + 1];
        for (var i = 0; i < rulesOf.Length; i++)
            rulesOf[i] = new List<int>();
        void Lay(int lhs, int[] rhs, int rule)
        {
            rulesOf[lhs].Add(program.Count);
            var key = rule >= 0 && _keyBits.TryGetValue(rule, out var kb) ? kb : (Symbol: -1, Bit: 0L);
            for (var i = 0; i < rhs.Length; i++)
            {
                program.Add(rhs[i]);
                lhsAtEnd.Add(-1);
                keyBit.Add(i == key.Symbol ? key.Bit : 0);
                requiredAtEnd.Add(0);
            }
            program.Add(Grammar.End);
            lhsAtEnd.Add(lhs);
            keyBit.Add(0);
            requiredAtEnd.Add(rule >= 0 && _required.TryGetValue(rule, out var req) ? req : 0);
        }
        for (var r = 0; r < _rules.Count; r++)
            Lay(_rules[r].Lhs, _rules[r].Rhs, r);
        var augmented = _names.Count;
        var startPos = program.Count;
        Lay(augmented, [start], -1);
        var names = _names.Append("<start>").ToArray();

        var nullable = new bool[names.Length];
        var changed = true;
        while (changed)
        {
            changed = false;
            foreach (var (lhs, rhs) in _rules.Append((augmented, new[] { start })))
            {
                if (nullable[lhs])
                    continue;
                var all = true;
                foreach (var s in rhs)
                    if (s < 0 || !nullable[s]) { all = false; break; }
                if (all)
                {
                    nullable[lhs] = true;
                    changed = true;
                }
            }
        }
        var carries = new bool[names.Length];
        foreach (var c in _carriers)
        {
            if (nullable[c])
                throw new InvalidOperationException($"key-set nonterminal {names[c]} must not be nullable");
            carries[c] = true;
        }
        return new Grammar(program.ToArray(), lhsAtEnd.ToArray(), rulesOf.Select(r => r.ToArray()).ToArray(), nullable,
            names, startPos, keyBit.ToArray(), requiredAtEnd.ToArray(), carries);
    }
}
