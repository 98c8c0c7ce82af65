using System.Text.Json;

namespace Glm.Onnx.Runtime.Telemetry;

/// <summary>
/// Speculative decoding's counters (docs/speculative.md), for one request or one engine: draft tokens proposed,
/// verify steps, and how many verify steps accepted the draft at each position 0..K-1 (a step that accepts n drafts
/// counts once at positions 0..n-1, since acceptance is a prefix). Written by one thread (the engine's step thread),
/// read by any: plain fields behind volatile reads and writes, a record costs a few adds.
/// </summary>
public sealed class SpeculationStats
{
    /// <summary>The most draft tokens per verify step the counters track.</summary>
    public const int MaxDraftTokens = 16;

    private readonly long[] _acceptedAt = new long[MaxDraftTokens];
    private long _draftTokens;
    private long _verifySteps;

    /// <summary>Records one sequence's verify step: <paramref name="drafted"/> draft tokens, the first <paramref name="accepted"/> of them accepted.</summary>
    public void RecordVerify(int drafted, int accepted)
    {
        if (drafted < 1 || drafted > MaxDraftTokens)
            throw new ArgumentOutOfRangeException(nameof(drafted), $"A verify step checks 1 to {MaxDraftTokens} draft tokens, got {drafted}.");
        if (accepted < 0 || accepted > drafted)
            throw new ArgumentOutOfRangeException(nameof(accepted), $"Accepted draft tokens must be in [0, {drafted}], got {accepted}.");
        Volatile.Write(ref _draftTokens, _draftTokens + drafted);
        Volatile.Write(ref _verifySteps, _verifySteps + 1);
        for (int i = 0; i < accepted; i++)
            Volatile.Write(ref _acceptedAt[i], _acceptedAt[i] + 1);
    }

    /// <summary>The counters as they are now.</summary>
    public SpeculationSummary Snapshot()
    {
        var acceptedAt = new long[MaxDraftTokens];
        int positions = 0;
        for (int i = 0; i < MaxDraftTokens; i++)
        {
            acceptedAt[i] = Volatile.Read(ref _acceptedAt[i]);
            if (acceptedAt[i] > 0)
                positions = i + 1;
        }
        return new SpeculationSummary(Volatile.Read(ref _draftTokens), Volatile.Read(ref _verifySteps), acceptedAt[..positions]);
    }
}

/// <summary>A reading of <see cref="SpeculationStats"/>.</summary>
/// <param name="DraftTokens">Draft tokens proposed to the verifier.</param>
/// <param name="VerifySteps">Verify steps (one per sequence per step that carried drafts).</param>
/// <param name="AcceptedPerPosition">Verify steps that accepted the draft at position i, i = 0 up to the last position
/// that ever accepted one (trailing zeros dropped).</param>
public sealed record SpeculationSummary(long DraftTokens, long VerifySteps, IReadOnlyList<long> AcceptedPerPosition)
{
    public static SpeculationSummary Empty { get; } = new(0, 0, []);

    /// <summary>Draft tokens accepted, all positions.</summary>
    public long AcceptedTokens => AcceptedPerPosition.Sum();

    /// <summary>Tokens emitted per verify step: the accepted drafts plus the target's own token; 0 before any step.</summary>
    public double MeanAcceptedLength => VerifySteps > 0 ? (double)(AcceptedTokens + VerifySteps) / VerifySteps : 0;

    /// <summary>Accepted draft tokens / draft tokens; 0 before any draft.</summary>
    public double AcceptanceRate => DraftTokens > 0 ? (double)AcceptedTokens / DraftTokens : 0;

    /// <summary>
    /// Writes the counters as the JSON object <paramref name="name"/> (docs/speculative.md): draft_tokens,
    /// accepted_tokens, verify_steps, accepted_per_position, mean_accepted_length. The one shape the server's usage,
    /// <c>glm-run generate --json</c> and <c>glm-run bench --json</c> all print.
    /// </summary>
    public void WriteJson(Utf8JsonWriter writer, string name = "speculative_decoding")
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject(name);
        writer.WriteNumber("draft_tokens", DraftTokens);
        writer.WriteNumber("accepted_tokens", AcceptedTokens);
        writer.WriteNumber("verify_steps", VerifySteps);
        writer.WriteStartArray("accepted_per_position");
        foreach (var n in AcceptedPerPosition)
            writer.WriteNumberValue(n);
        writer.WriteEndArray();
        writer.WriteNumber("mean_accepted_length", Math.Round(MeanAcceptedLength, 4));
        writer.WriteEndObject();
    }

    /// <summary>The counts accumulated since <paramref name="earlier"/>, a reading of the same counters.</summary>
    public SpeculationSummary Since(SpeculationSummary earlier)
    {
        ArgumentNullException.ThrowIfNull(earlier);
        int n = AcceptedPerPosition.Count;
        var acceptedAt = new long[n];
        for (int i = 0; i < n; i++)
            acceptedAt[i] = AcceptedPerPosition[i] - (i < earlier.AcceptedPerPosition.Count ? earlier.AcceptedPerPosition[i] : 0);
        int positions = n;
        while (positions > 0 && acceptedAt[positions - 1] == 0)
            positions--;
        return new SpeculationSummary(DraftTokens - earlier.DraftTokens, VerifySteps - earlier.VerifySteps, acceptedAt[..positions]);
    }

    // Records compare lists by reference; two readings are equal when their counts are.
    public bool Equals(SpeculationSummary? other) =>
        other is not null && DraftTokens == other.DraftTokens && VerifySteps == other.VerifySteps &&
        AcceptedPerPosition.SequenceEqual(other.AcceptedPerPosition);

    public override int GetHashCode() => HashCode.Combine(DraftTokens, VerifySteps, AcceptedPerPosition.Count);
}
