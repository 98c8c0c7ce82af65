using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Telemetry;
using Glm.Onnx.Tests.Fakes;

namespace Glm.Onnx.Tests;

/// <summary>
/// The engine's meter as an embedder without the server sees it: a plain <see cref="MeterListener"/> on
/// <see cref="GlmMetrics.MeterName"/>, measurements filtered to this engine's model name.
/// </summary>
public sealed class EngineMetricsTests
{
    private sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly string _model;

        public Recorder(string model)
        {
            _model = model;
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == GlmMetrics.MeterName)
                    listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Note(i, v, tags));
            _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Note(i, v, tags));
            _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Note(i, v, tags));
            _listener.Start();
        }

        /// <summary>Per instrument (and extra tag value), every measurement in order.</summary>
        public ConcurrentDictionary<string, ConcurrentQueue<double>> Seen { get; } = new();

        public double Latest(string name, string? tag = null)
        {
            Seen.Clear();
            _listener.RecordObservableInstruments();
            return Seen.TryGetValue(tag is null ? name : $"{name}/{tag}", out var values) ? values.Last() : double.NaN;
        }

        public void Dispose() => _listener.Dispose();

        private void Note(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? model = null, extra = null;
            foreach (var tag in tags)
            {
                if (tag.Key == GlmMetrics.ModelNameTag)
                    model = tag.Value as string;
                else
                    extra = tag.Value as string;
            }
            if (model == _model)
                Seen.GetOrAdd(extra is null ? instrument.Name : $"{instrument.Name}/{extra}", _ => new()).Enqueue(value);
        }
    }

    [Fact]
    public async Task CountersAndLatenciesAreMeasuredWithoutAnyExporter()
    {
        string model = "embedded-" + Guid.NewGuid().ToString("N")[..8];
        using var recorder = new Recorder(model);
        using var executor = new FakeModelExecutor();
        using var engine = new GenerationEngine(executor, telemetry: new EngineTelemetryOptions(model));
        int[] prompt = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        for (int r = 0; r < 2; r++)
            await foreach (var _ in engine.GenerateAsync(new GenerationRequest(prompt) { MaxNewTokens = 5, IgnoreEos = true }))
            {
            }

        Assert.Equal(10, recorder.Latest(GlmMetrics.GenerationTokens));
        Assert.Equal(18, recorder.Latest(GlmMetrics.PromptTokens));
        Assert.Equal(18, recorder.Latest(GlmMetrics.PrefixCacheQueries));
        Assert.Equal(8, recorder.Latest(GlmMetrics.PrefixCacheHits)); // the second request reuses 2 full blocks of 4
        Assert.Equal(2, recorder.Latest(GlmMetrics.RequestSuccess, "length"));
        Assert.Equal(0, recorder.Latest(GlmMetrics.RequestsRunning));
        Assert.Equal(0, recorder.Latest(GlmMetrics.KvCacheUsage));
        recorder.Seen.Clear();
        // Histograms are events, recorded as they happened (Latest cleared them; count them from a fresh request).
        await foreach (var _ in engine.GenerateAsync(new GenerationRequest([3, 1, 4]) { MaxNewTokens = 4, IgnoreEos = true }))
        {
        }
        Assert.Single(recorder.Seen[GlmMetrics.TimeToFirstToken]);
        Assert.Equal(3, recorder.Seen[GlmMetrics.InterTokenLatency].Count);
        Assert.Single(recorder.Seen[GlmMetrics.RequestQueueTime]);
        Assert.Single(recorder.Seen[GlmMetrics.RequestLatency]);
        Assert.All(recorder.Seen[GlmMetrics.InterTokenLatency], v => Assert.InRange(v, 0, 10));
    }

    [Fact]
    public async Task HealthFailsAfterConsecutiveFailedStepsAndRecoversOnSuccess()
    {
        using var executor = new FakeModelExecutor();
        using var engine = new GenerationEngine(executor, telemetry: new EngineTelemetryOptions(FailedStepsBeforeUnhealthy: 2));
        Assert.Equal(EngineHealthStatus.Healthy, engine.Health.Status);
        for (int i = 0; i < 2; i++)
        {
            executor.FailNext = new InvalidOperationException("device lost");
            await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            {
                await foreach (var _ in engine.GenerateAsync(new GenerationRequest([1, 2, 3]) { MaxNewTokens = 2 }))
                {
                }
            });
            Assert.Equal(i == 0 ? EngineHealthStatus.Healthy : EngineHealthStatus.Failing, engine.Health.Status);
        }
        Assert.Equal("device lost", engine.Health.Problem);
        await foreach (var _ in engine.GenerateAsync(new GenerationRequest([1, 2, 3]) { MaxNewTokens = 2 }))
        {
        }
        Assert.Equal(new EngineHealth(EngineHealthStatus.Healthy, null), engine.Health);
    }

    [Fact]
    public void SpeculativeDecodingCountersAreReportedPerModelAndPosition()
    {
        string model = "spec-" + Guid.NewGuid().ToString("N")[..8];
        using var recorder = new Recorder(model);
        var a = new EngineCounters(totalBlocks: 8);
        var b = new EngineCounters(totalBlocks: 8);
        using var metricsA = new EngineMetrics(a, model);
        using var metricsB = new EngineMetrics(b, model);
        Assert.Equal(0, recorder.Latest(GlmMetrics.SpecDecodeDrafts));
        Assert.True(double.IsNaN(recorder.Latest(GlmMetrics.SpecDecodeAcceptedTokensPerPosition, "0"))); // no position yet
        a.Speculation.RecordVerify(drafted: 3, accepted: 2);
        a.Speculation.RecordVerify(drafted: 3, accepted: 0);
        b.Speculation.RecordVerify(drafted: 2, accepted: 1);
        Assert.Equal(3, recorder.Latest(GlmMetrics.SpecDecodeDrafts));
        Assert.Equal(8, recorder.Latest(GlmMetrics.SpecDecodeDraftTokens));
        Assert.Equal(3, recorder.Latest(GlmMetrics.SpecDecodeAcceptedTokens));
        Assert.Equal(2, recorder.Latest(GlmMetrics.SpecDecodeAcceptedTokensPerPosition, "0"));
        Assert.Equal(1, recorder.Latest(GlmMetrics.SpecDecodeAcceptedTokensPerPosition, "1"));
        Assert.True(double.IsNaN(recorder.Latest(GlmMetrics.SpecDecodeAcceptedTokensPerPosition, "2")));
    }
}
