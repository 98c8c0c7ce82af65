using System.Diagnostics;

namespace Glm.Onnx.Grammar;

/// <summary>
/// The compile time limit of one grammar (JSON Schema or GBNF): compilers check it in their loops, so a hostile
/// schema or grammar ends in a <see cref="GrammarException"/> naming the limit instead of stalling a request
/// (docs/structured-output.md, "Limits").
/// </summary>
internal sealed class CompileClock
{
    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private readonly TimeSpan _limit;
    private readonly string _what;
    private int _calls;

    public CompileClock(TimeSpan limit, string what)
    {
        _limit = limit;
        _what = what;
    }

    /// <summary>Throws when the limit has passed; cheap enough for inner loops (the clock is read every 64 calls).</summary>
    public void Check()
    {
        if ((++_calls & 63) == 0 || _limit < TimeSpan.FromMilliseconds(50))
            CheckNow();
    }

    public void CheckNow()
    {
        if (_watch.Elapsed > _limit)
            throw new GrammarException(
                $"{_what} compilation exceeded the compile time limit of {_limit.TotalSeconds:0.###} s (CompileTimeout)");
    }
}
