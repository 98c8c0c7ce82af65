using System.Text;

namespace Glm.Onnx.Runtime.Engine;

/// <summary>
/// Finds stop strings in streamed text. Text that could still turn into a stop string is held back, so a stop string
/// is never partly emitted; the text before the earliest match is emitted and the match itself is dropped.
/// </summary>
public sealed class StopStringMatcher
{
    private readonly string[] _stops;
    private readonly StringBuilder _pending = new();

    public StopStringMatcher(IReadOnlyList<string> stops)
    {
        ArgumentNullException.ThrowIfNull(stops);
        foreach (var stop in stops)
            if (string.IsNullOrEmpty(stop))
                throw new ArgumentException("Stop strings must not be empty.", nameof(stops));
        _stops = [.. stops];
    }

    /// <summary>Adds text; returns what may be emitted now and whether a stop string matched.</summary>
    public (string Emit, bool Stopped) Push(string delta)
    {
        _pending.Append(delta);
        if (_stops.Length == 0)
            return (Take(_pending.Length), false);
        var text = _pending.ToString();
        int earliest = -1;
        foreach (var stop in _stops)
        {
            int at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (earliest < 0 || at < earliest))
                earliest = at;
        }
        if (earliest >= 0)
        {
            _pending.Clear();
            return (text[..earliest], true);
        }
        int hold = 0;
        foreach (var stop in _stops)
            for (int len = Math.Min(stop.Length - 1, text.Length); len > hold; len--)
                if (text.AsSpan(text.Length - len).SequenceEqual(stop.AsSpan(0, len)))
                {
                    hold = len;
                    break;
                }
        return (Take(text.Length - hold), false);
    }

    /// <summary>Everything held back (the output ended without a match).</summary>
    public string Flush() => Take(_pending.Length);

    /// <summary>
    /// The output ends with <paramref name="tail"/>: returns everything still to emit, cut before a stop string if
    /// the tail completes one.
    /// </summary>
    public string End(string tail)
    {
        var (emit, stopped) = Push(tail);
        return stopped ? emit : emit + Flush();
    }

    private string Take(int count)
    {
        var text = _pending.ToString(0, count);
        _pending.Remove(0, count);
        return text;
    }
}
