using System.Diagnostics;
using Glm.Onnx.Grammar;

namespace Glm.Onnx.Runtime.Constraints;

/// <summary>
/// One sequence's grammar state and mask buffers. Per step: <see cref="PrepareMask"/> (may run on a worker thread,
/// in parallel with other sequences' trackers), <see cref="Restrict"/> on the logits row, then <see cref="Accept"/>
/// with the chosen token. Dropped with its request: nothing is shared between sequences but the compiled grammar.
/// With <see cref="GrammarConstraint.ToolCalls"/> the answer's first token chooses content (the grammar) or tool calls
/// (the tool-call grammar, call after call), and the other branch is closed from then on.
/// </summary>
internal sealed class ConstraintTracker
{
    private readonly GrammarConstraint _constraint;
    private GrammarState _state;
    private GrammarState? _call;
    private readonly int[] _stopIds;
    private readonly ulong[] _mask;
    private float[] _row = [];
    private Phase _phase;
    private bool _maskReady;
    private bool _accepting;
    private int _allowed;
    private long _maskTicks;

    /// <param name="constraint">The request's constraint.</param>
    /// <param name="stopIds">The ids that end the request (allowed where the grammar may end).</param>
    /// <param name="promptLastToken">The prompt's last id: a prompt ending in the start token starts constrained.</param>
    public ConstraintTracker(GrammarConstraint constraint, IEnumerable<int> stopIds, int promptLastToken)
    {
        _constraint = constraint;
        _state = constraint.Grammar.NewState();
        _stopIds = [.. stopIds];
        _mask = new ulong[constraint.Grammar.Vocabulary.MaskWords];
        if (constraint.ToolCalls is { } calls)
        {
            // The two grammars share the tokenizer's id range, so one mask holds either and the start token's bit.
            if (calls.Grammar.Vocabulary.MaskWords != _mask.Length || (uint)calls.StartTokenId >= (uint)constraint.Grammar.Vocabulary.Size)
                throw new ArgumentException("The tool-call grammar and its start token must use the response format's vocabulary size.", nameof(constraint));
        }
        _phase = constraint.StartAfterTokenId is not { } start || start == promptLastToken ? AnswerStart : Phase.Free;
    }

    // Where the output stands: free text, the answer's first token (content or a tool call, when both are offered),
    // content under the grammar, inside a tool call, or between tool calls (another one, or the end).
    private enum Phase { Free, Choice, Answer, Call, AfterCall }

    private Phase AnswerStart => _constraint.ToolCalls is null ? Phase.Answer : Phase.Choice;

    /// <summary>True while the output is under the grammar (false in a leading free block such as reasoning).</summary>
    public bool IsActive => _phase != Phase.Free;

    // The grammar state that the next token advances, where there is exactly one.
    private GrammarState? Current => _phase switch
    {
        Phase.Answer => _state,
        Phase.Call => _call,
        _ => null,
    };

    /// <summary>Time spent computing masks for this sequence.</summary>
    public TimeSpan MaskTime => Stopwatch.GetElapsedTime(0, _maskTicks);

    /// <summary>Steps in which exactly one token could follow (a stop id included), taken without sampling.</summary>
    public int ForcedTokens { get; private set; }

    /// <summary>Tokens appended by <see cref="JumpForward"/>.</summary>
    public int JumpForwardTokens { get; private set; }

    /// <summary>
    /// The tokens to append without sampling after the last accepted token: the canonical tokenization of the byte run
    /// the grammar now forces, less its last token (it might merge with the text after the run), cut at the first
    /// token whose bytes do not continue the run exactly (their bytes being forced, the grammar takes each). Empty
    /// when nothing is forced, the output is free, or <see cref="GrammarConstraint.Tokenize"/> is not set. The caller
    /// appends them with <see cref="Accept"/>, in order.
    /// </summary>
    public IReadOnlyList<int> JumpForward()
    {
        if (Current is not { } state || _constraint.Tokenize is not { } tokenize)
            return [];
        var forced = state.ForcedBytes();
        if (forced.Length < 2)
            return [];
        // Only whole characters: a run that ends inside a UTF-8 sequence is cut before it.
        var text = System.Text.Encoding.UTF8.GetString(forced, 0, CompleteUtf8Length(forced));
        var ids = tokenize(text);
        var result = new List<int>();
        var vocabulary = state.Grammar.Vocabulary;
        int offset = 0;
        for (int i = 0; i < ids.Count - 1; i++)
        {
            var bytes = vocabulary.Bytes(ids[i]);
            if (bytes.IsEmpty || offset + bytes.Length > forced.Length || !bytes.SequenceEqual(forced.AsSpan(offset, bytes.Length)))
                break;
            offset += bytes.Length;
            result.Add(ids[i]);
        }
        JumpForwardTokens += result.Count;
        return result;
    }

    private static int CompleteUtf8Length(byte[] bytes)
    {
        int end = bytes.Length;
        int i = end - 1;
        while (i >= 0 && (bytes[i] & 0xC0) == 0x80)
            i--;
        if (i < 0)
            return 0;
        int need = bytes[i] < 0x80 ? 1 : bytes[i] >= 0xF0 ? 4 : bytes[i] >= 0xE0 ? 3 : bytes[i] >= 0xC0 ? 2 : 1;
        return i + need <= end ? end : i;
    }

    /// <summary>Computes this step's mask unless it is ready or the output is free. Safe to call from any thread.</summary>
    public void PrepareMask()
    {
        if (_phase == Phase.Free || _maskReady)
            return;
        long start = Stopwatch.GetTimestamp();
        switch (_phase)
        {
            case Phase.AfterCall:
                // After a whole tool call: another call, or the end of the reply.
                Array.Clear(_mask);
                _accepting = true;
                break;
            default:
                var state = _phase == Phase.Call ? _call! : _state;
                state.ComputeMask(_mask);
                _accepting = state.IsAccepting;
                break;
        }
        if (_phase is Phase.Choice or Phase.AfterCall)
        {
            int open = _constraint.ToolCalls!.StartTokenId;
            _mask[open >> 6] |= 1UL << (open & 63);
        }
        _allowed = MaskOps.Count(_mask);
        _maskReady = true;
        _maskTicks += Stopwatch.GetTimestamp() - start;
    }

    /// <summary>
    /// The row with every token the grammar rejects at -inf (stop ids kept where the grammar may end), or the token
    /// itself in <paramref name="forced"/> (else -1) when exactly one can follow, so no sampling is needed. Throws
    /// when nothing may follow.
    /// </summary>
    public ReadOnlySpan<float> Restrict(ReadOnlySpan<float> row, out int forced)
    {
        forced = -1;
        if (_phase == Phase.Free)
            return _constraint.Reopens ? row : WithoutStops(row);
        PrepareMask();
        int stops = _accepting ? CountStops(row.Length) : 0;
        if (_allowed + stops == 0)
            throw new GrammarDeadEndException(
                "The response format allows no token here and cannot end: part of it admits no value (e.g. a required " +
                "property whose schema nothing satisfies), so the output cannot continue.");
        if (_allowed + stops == 1)
        {
            ForcedTokens++;
            forced = _allowed == 1 ? FirstAllowed() : FirstStop(row.Length);
            return row;
        }
        if (_row.Length < row.Length)
            _row = new float[row.Length];
        var work = _row.AsSpan(0, row.Length);
        row.CopyTo(work);
        int covered = Math.Min(work.Length, _constraint.Grammar.Vocabulary.Size); // the tool-call grammar's size too
        MaskOps.Apply(_mask, work[..covered]);
        work[covered..].Fill(float.NegativeInfinity); // padded logits rows past the tokenizer's vocabulary
        if (_accepting)
            foreach (var id in _stopIds)
                if ((uint)id < (uint)row.Length)
                    work[id] = row[id];
        return work;
    }

    // The free block before the start token (reasoning before "</think>") may not end the output: the answer under
    // the grammar must follow it, else a reply could "stop" with no answer at all. The token limit still ends it.
    private ReadOnlySpan<float> WithoutStops(ReadOnlySpan<float> row)
    {
        if (_row.Length < row.Length)
            _row = new float[row.Length];
        var work = _row.AsSpan(0, row.Length);
        row.CopyTo(work);
        foreach (var id in _stopIds)
            if ((uint)id < (uint)row.Length)
                work[id] = float.NegativeInfinity;
        foreach (var id in _constraint.ExcludedBeforeStart)
            if ((uint)id < (uint)row.Length)
                work[id] = float.NegativeInfinity;
        return work;
    }

    /// <summary>Advances the grammar by the chosen token (or starts it after the start token).</summary>
    public void Accept(int token)
    {
        _maskReady = false;
        if (_phase == Phase.Free)
        {
            if (token == _constraint.StartAfterTokenId)
                _phase = AnswerStart;
            return;
        }
        if (Array.IndexOf(_stopIds, token) >= 0)
            return;
        int open = _constraint.ToolCalls?.StartTokenId ?? -1;
        switch (_phase)
        {
            case Phase.Choice or Phase.AfterCall when token == open:
                _call = _constraint.ToolCalls!.Grammar.NewState();
                _phase = Phase.Call;
                return;
            case Phase.AfterCall:
                throw new InvalidOperationException($"Token {token} follows a tool call; only another call or the end may.");
            case Phase.Call:
                Advance(_call!, token);
                if (_call!.IsComplete)
                {
                    _phase = Phase.AfterCall;
                    _call = null;
                }
                return;
            default: // Choice (content starts) or Answer
                Advance(_state, token);
                _phase = Phase.Answer;
                if (_constraint.Reopens && _constraint.StartAfterTokenId is not null && _state.IsComplete)
                {
                    // The constrained part is over (a whole tool call): free text until the start token comes again.
                    _phase = Phase.Free;
                    _state = _constraint.Grammar.NewState();
                }
                return;
        }
    }

    private static void Advance(GrammarState state, int token)
    {
        if (!state.Advance(token))
            throw new InvalidOperationException($"Token {token} does not continue the grammar; the mask should have excluded it.");
    }

    private int CountStops(int vocab)
    {
        int n = 0;
        foreach (var id in _stopIds)
            if ((uint)id < (uint)vocab)
                n++;
        return n;
    }

    private int FirstStop(int vocab) => _stopIds.First(id => (uint)id < (uint)vocab);

    private int FirstAllowed()
    {
        for (int w = 0; w < _mask.Length; w++)
            if (_mask[w] != 0)
                return w * 64 + System.Numerics.BitOperations.TrailingZeroCount(_mask[w]);
        throw new InvalidOperationException("The mask is empty.");
    }
}
