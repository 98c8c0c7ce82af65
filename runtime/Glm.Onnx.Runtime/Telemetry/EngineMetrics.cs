using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Glm.Onnx.Runtime.Telemetry;

/// <summary>
/// The engine's instruments on the process-wide <see cref="GlmMetrics.MeterName"/> meter. The instruments exist once
/// per process and every live engine registers its <see cref="EngineCounters"/> with them: a listener (OpenTelemetry)
/// that subscribed once keeps seeing every engine, and disposing one engine never disposes an instrument another still
/// reports through. Gauges and counters are observed when a listener collects, summed over the live engines of each
/// model name (nothing happens per token); the latency histograms are recorded as events happen, which costs nothing
/// without a listener and allocates nothing with one.
/// </summary>
internal sealed class EngineMetrics : IDisposable
{
    // Bucket bounds in seconds, as vLLM uses for the same histograms, so dashboards built for it read ours alike.
    private static readonly double[] FirstTokenBuckets =
        [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];

    private static readonly double[] TokenGapBuckets =
        [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];

    private static readonly double[] RequestBuckets =
        [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];

    private static readonly ConcurrentDictionary<EngineCounters, string> Live = new();
    private static readonly Meter Meter = new(GlmMetrics.MeterName);
    private static readonly Histogram<double> FirstToken;
    private static readonly Histogram<double> TokenGap;
    private static readonly Histogram<double> QueueTime;
    private static readonly Histogram<double> RequestLatency;

    private readonly EngineCounters _counters;
    private readonly KeyValuePair<string, object?> _model;

    static EngineMetrics()
    {
        Meter.CreateObservableGauge(GlmMetrics.RequestsRunning, () => Sum(c => Volatile.Read(ref c.Running)),
            description: "Requests in the running batch (holding cache blocks).");
        Meter.CreateObservableGauge(GlmMetrics.RequestsWaiting, () => Sum(c => c.WaitingNow),
            description: "Requests waiting to be admitted (queued, or preempted and waiting to be recomputed).");
        Meter.CreateObservableGauge(GlmMetrics.KvCacheUsage, KvCacheUsage,
            description: "Fraction of KV cache blocks held by requests, 0 to 1.");

        Meter.CreateObservableCounter(GlmMetrics.PrefixCacheQueries, () => Sum(c => Volatile.Read(ref c.PrefixQueriedTokens)),
            description: "Prompt tokens looked up in the prefix cache.");
        Meter.CreateObservableCounter(GlmMetrics.PrefixCacheHits, () => Sum(c => Volatile.Read(ref c.PrefixHitTokens)),
            description: "Prompt tokens served from the prefix cache.");
        Meter.CreateObservableCounter(GlmMetrics.PromptTokens, () => Sum(c => Volatile.Read(ref c.PromptTokens)),
            description: "Prompt tokens of requests that produced a first token.");
        Meter.CreateObservableCounter(GlmMetrics.GenerationTokens, () => Sum(c => Volatile.Read(ref c.GenerationTokens)),
            description: "Generated tokens.");
        Meter.CreateObservableCounter(GlmMetrics.Preemptions, () => Sum(c => Volatile.Read(ref c.Preemptions)),
            description: "Times a running request lost its cache blocks to an older one.");
        Meter.CreateObservableCounter<long>(GlmMetrics.RequestSuccess, () =>
            Sum(c => Volatile.Read(ref c.FinishedByStop), new(GlmMetrics.FinishedReasonTag, "stop"))
                .Concat(Sum(c => Volatile.Read(ref c.FinishedByLength), new(GlmMetrics.FinishedReasonTag, "length"))),
            description: "Requests that finished, by finish reason.");
        Meter.CreateObservableCounter<long>(GlmMetrics.RequestFailures, () =>
            Sum(c => Volatile.Read(ref c.Failed), new(GlmMetrics.FailureTag, "error"))
                .Concat(Sum(c => Volatile.Read(ref c.Cancelled), new(GlmMetrics.FailureTag, "cancelled"))),
            description: "Requests that ended without finishing: a failed step, or cancelled by the caller.");

        Meter.CreateObservableCounter(GlmMetrics.SpecDecodeDrafts, () => Sum(c => c.Speculation.Snapshot().VerifySteps),
            description: "Speculative decoding: verify steps (one per sequence per step that carried draft tokens).");
        Meter.CreateObservableCounter(GlmMetrics.SpecDecodeDraftTokens, () => Sum(c => c.Speculation.Snapshot().DraftTokens),
            description: "Speculative decoding: draft tokens proposed to the verifier.");
        Meter.CreateObservableCounter(GlmMetrics.SpecDecodeAcceptedTokens, () => Sum(c => c.Speculation.Snapshot().AcceptedTokens),
            description: "Speculative decoding: draft tokens accepted.");
        Meter.CreateObservableCounter<long>(GlmMetrics.SpecDecodeAcceptedTokensPerPosition, AcceptedPerPosition,
            description: "Speculative decoding: draft tokens accepted at each draft position (0-based).");

        FirstToken = Seconds(GlmMetrics.TimeToFirstToken, FirstTokenBuckets, "From submission to the first generated token.");
        TokenGap = Seconds(GlmMetrics.InterTokenLatency, TokenGapBuckets, "Between consecutive generated tokens of a request.");
        QueueTime = Seconds(GlmMetrics.RequestQueueTime, RequestBuckets, "From submission to the request's first scheduled step.");
        RequestLatency = Seconds(GlmMetrics.RequestLatency, RequestBuckets, "From submission to the last token of a finished request.");
    }

    /// <summary>Starts reporting <paramref name="counters"/> under <paramref name="modelName"/> until disposed.</summary>
    public EngineMetrics(EngineCounters counters, string modelName)
    {
        ArgumentNullException.ThrowIfNull(counters);
        ArgumentException.ThrowIfNullOrEmpty(modelName);
        _counters = counters;
        _model = new(GlmMetrics.ModelNameTag, modelName);
        Live[counters] = modelName;
    }

    public void RecordTimeToFirstToken(double seconds) => FirstToken.Record(seconds, _model);

    public void RecordInterTokenLatency(double seconds) => TokenGap.Record(seconds, _model);

    public void RecordQueueTime(double seconds) => QueueTime.Record(seconds, _model);

    public void RecordRequestLatency(double seconds) => RequestLatency.Record(seconds, _model);

    public void Dispose() => Live.TryRemove(_counters, out _);

    // One measurement per model name: engines serving the same name add up (load and totals of that model).
    private static IEnumerable<Measurement<long>> Sum(Func<EngineCounters, long> read, KeyValuePair<string, object?>? extra = null) =>
        Live.GroupBy(e => e.Value).Select(g =>
        {
            long total = g.Sum(e => read(e.Key));
            var model = new KeyValuePair<string, object?>(GlmMetrics.ModelNameTag, g.Key);
            return extra is { } tag ? new Measurement<long>(total, model, tag) : new Measurement<long>(total, model);
        }).ToList();

    // One measurement per model name and draft position that ever accepted a draft.
    private static IEnumerable<Measurement<long>> AcceptedPerPosition() =>
        Live.GroupBy(e => e.Value).SelectMany(g =>
        {
            var readings = g.Select(e => e.Key.Speculation.Snapshot().AcceptedPerPosition).ToList();
            int positions = readings.Count == 0 ? 0 : readings.Max(r => r.Count);
            var model = new KeyValuePair<string, object?>(GlmMetrics.ModelNameTag, g.Key);
            return Enumerable.Range(0, positions).Select(i => new Measurement<long>(
                readings.Sum(r => i < r.Count ? r[i] : 0), model,
                new KeyValuePair<string, object?>(GlmMetrics.PositionTag, i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        }).ToList();

    private static IEnumerable<Measurement<double>> KvCacheUsage() =>
        Live.GroupBy(e => e.Value).Select(g =>
        {
            long free = g.Sum(e => (long)Volatile.Read(ref e.Key.FreeBlocks));
            long total = g.Sum(e => (long)e.Key.TotalBlocks);
            return new Measurement<double>(1.0 - (double)free / total, new KeyValuePair<string, object?>(GlmMetrics.ModelNameTag, g.Key));
        }).ToList();

    private static Histogram<double> Seconds(string name, double[] buckets, string description) =>
        Meter.CreateHistogram(name, "s", description, tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = buckets });
}
