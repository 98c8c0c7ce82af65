namespace Glm.Onnx.Grammar.Parser;

/// <summary>
/// A context-free grammar over lexemes, laid flat for the Earley parser: every rule's right-hand side sits in
/// <see cref="Program"/> followed by an end marker, so an item is just (position, origin row).
/// Symbols: nonterminal n &gt;= 0, lexeme l as -(l + 1), rule end as <see cref="End"/>.
/// </summary>
internal sealed class Grammar
{
    public const int End = int.MinValue;

    public Grammar(int[] program, int[] lhsAtEnd, int[][] rulesOf, bool[] nullable, string[] names, int startRulePos)
    {
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

    public static int Lexeme(int lexeme) => -(lexeme + 1);

    public static bool IsLexeme(int symbol) => symbol < 0 && symbol != End;

    public static int LexemeOf(int symbol) => -symbol - 1;
}

/// <summary>Collects rules, then lays them out into a <see cref="Grammar"/>.</summary>
internal sealed class GrammarBuilder
{
    private readonly List<string> _names = new();
    private readonly List<(int Lhs, int[] Rhs)> _rules = new();

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

    public Grammar Build(int start)
    {
        var program = new List<int>();
        var lhsAtEnd = new List<int>();
        var rulesOf = new List<int>[_names.Count + 1];
        for (var i = 0; i < rulesOf.Length; i++)
            rulesOf[i] = new List<int>();
        void Lay(int lhs, int[] rhs)
        {
            rulesOf[lhs].Add(program.Count);
            foreach (var s in rhs)
            {
                program.Add(s);
                lhsAtEnd.Add(-1);
            }
            program.Add(Grammar.End);
            lhsAtEnd.Add(lhs);
        }
        foreach (var (lhs, rhs) in _rules)
            Lay(lhs, rhs);
        var augmented = _names.Count;
        var startPos = program.Count;
        Lay(augmented, [start]);
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
        return new Grammar(program.ToArray(), lhsAtEnd.ToArray(), rulesOf.Select(r => r.ToArray()).ToArray(), nullable,
            names, startPos);
    }
}
