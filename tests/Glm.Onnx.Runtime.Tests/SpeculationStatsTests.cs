using System.Text;
using System.Text.Json;
using Glm.Onnx.Runtime.Telemetry;

namespace Glm.Onnx.Tests;

public sealed class SpeculationStatsTests
{
    [Fact]
    public void AStepThatAcceptsNDraftsCountsAtPositionsZeroToNMinusOne()
    {
        var stats = new SpeculationStats();
        Assert.Equal(SpeculationSummary.Empty, stats.Snapshot());
        Assert.Equal(0, stats.Snapshot().MeanAcceptedLength);
        stats.RecordVerify(drafted: 4, accepted: 4);
        stats.RecordVerify(drafted: 4, accepted: 1);
        stats.RecordVerify(drafted: 4, accepted: 0);
        stats.RecordVerify(drafted: 2, accepted: 2);
        var s = stats.Snapshot();
        Assert.Equal(new SpeculationSummary(14, 4, [3, 2, 1, 1]), s);
        Assert.Equal(7, s.AcceptedTokens);
        Assert.Equal((7 + 4) / 4.0, s.MeanAcceptedLength); // emitted per verify step: accepted drafts + 1
        Assert.Equal(7 / 14.0, s.AcceptanceRate);
    }

    [Fact]
    public void SinceSubtractsAnEarlierReading()
    {
        var stats = new SpeculationStats();
        stats.RecordVerify(3, 3);
        var before = stats.Snapshot();
        stats.RecordVerify(3, 1);
        stats.RecordVerify(2, 0);
        Assert.Equal(new SpeculationSummary(5, 2, [1]), stats.Snapshot().Since(before));
        Assert.Equal(new SpeculationSummary(0, 0, []), stats.Snapshot().Since(stats.Snapshot()));
    }

    [Fact]
    public void OutOfRangeStepsAreRefused()
    {
        var stats = new SpeculationStats();
        Assert.Contains("1 to 16", Assert.Throws<ArgumentOutOfRangeException>(() => stats.RecordVerify(0, 0)).Message);
        Assert.Contains("1 to 16", Assert.Throws<ArgumentOutOfRangeException>(() => stats.RecordVerify(17, 0)).Message);
        Assert.Contains("[0, 2]", Assert.Throws<ArgumentOutOfRangeException>(() => stats.RecordVerify(2, 3)).Message);
    }

    [Fact]
    public void TheJsonObjectCarriesTheDocumentedFields()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            new SpeculationSummary(DraftTokens: 12, VerifySteps: 4, AcceptedPerPosition: [4, 3, 1]).WriteJson(w);
            w.WriteEndObject();
        }
        Assert.Equal(
            """{"speculative_decoding":{"draft_tokens":12,"accepted_tokens":8,"verify_steps":4,"accepted_per_position":[4,3,1],"mean_accepted_length":3}}""",
            Encoding.UTF8.GetString(buffer.ToArray()));
    }
}
