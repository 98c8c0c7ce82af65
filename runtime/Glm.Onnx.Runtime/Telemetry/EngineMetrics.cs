using System.Diagnostics.Metrics;

namespace Glm.Onnx.Runtime.Telemetry;

/// <summary>
/// The engine's instruments on the <see cref="GlmMetrics.MeterName"/> meter. Gauges and counters are observed from
/// <see cref="EngineCounters"/> when a listener collects (nothing happens per token); the latency histograms are
/// recorded as events happen, which costs nothing without a listener and allocates nothing with one.
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

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly KeyValuePair<string, object?> _model;
    private readonly Histogram<double> _firstToken;
    private readonly Histogram<double> _tokenGap;
    private readonly Histogram<double> _queueTime;
    private readonly Histogram<double> _requestLatency;

    public EngineMetrics(EngineCounters counters, EngineTelemetryOptions options)
    {
        ArgumentNullException.ThrowIfNull(counters);
        ArgumentNullException.ThrowIfNull(options);
        _ownsMeter = options.MeterFactory is null;
        _meter = options.MeterFactory?.Create(new MeterOptions(GlmMetrics.MeterName)) ?? new Meter(GlmMetrics.MeterName);
        _model = new(GlmMetrics.ModelNameTag, options.ModelName);
        var c = counters;

        _meter.CreateObservableGauge(GlmMetrics.RequestsRunning, () => Tagged(Volatile.Read(ref c.Running)),
            description: "Requests in the running batch (holding cache blocks).");
        _meter.CreateObservableGauge(GlmMetrics.RequestsWaiting, () => Tagged(Volatile.Read(ref c.Waiting)),
            description: "Requests waiting to be admitted (queued or preempted).");
        _meter.CreateObservableGauge(GlmMetrics.KvCacheUsage, () => Tagged(c.KvCacheUsage),
            description: "Fraction of KV cache blocks held by requests, 0 to 1.");

        _meter.CreateObservableCounter(GlmMetrics.PrefixCacheQueries, () => Tagged(Volatile.Read(ref c.PrefixQueriedTokens)),
            description: "Prompt tokens looked up in the prefix cache.");
        _meter.CreateObservableCounter(GlmMetrics.PrefixCacheHits, () => Tagged(Volatile.Read(ref c.PrefixHitTokens)),
            description: "Prompt tokens served from the prefix cache.");
        _meter.CreateObservableCounter(GlmMetrics.PromptTokens, () => Tagged(Volatile.Read(ref c.PromptTokens)),
            description: "Prompt tokens of requests that produced a first token.");
        _meter.CreateObservableCounter(GlmMetrics.GenerationTokens, () => Tagged(Volatile.Read(ref c.GenerationTokens)),
            description: "Generated tokens.");
        _meter.CreateObservableCounter(GlmMetrics.Preemptions, () => Tagged(Volatile.Read(ref c.Preemptions)),
            description: "Times a running request lost its cache blocks to an older one.");
        _meter.CreateObservableCounter(GlmMetrics.RequestSuccess, () =>
            [
                new Measurement<long>(Volatile.Read(ref c.FinishedByStop), _model, new(GlmMetrics.FinishedReasonTag, "stop")),
                new Measurement<long>(Volatile.Read(ref c.FinishedByLength), _model, new(GlmMetrics.FinishedReasonTag, "length")),
            ],
            description: "Requests that finished, by finish reason.");
        _meter.CreateObservableCounter(GlmMetrics.RequestFailures, () =>
            [
                new Measurement<long>(Volatile.Read(ref c.Failed), _model, new(GlmMetrics.FailureTag, "error")),
                new Measurement<long>(Volatile.Read(ref c.Cancelled), _model, new(GlmMetrics.FailureTag, "cancelled")),
            ],
            description: "Requests that ended without finishing: a failed step, or cancelled by the caller.");

        _firstToken = Seconds(GlmMetrics.TimeToFirstToken, FirstTokenBuckets, "From submission to the first generated token.");
        _tokenGap = Seconds(GlmMetrics.InterTokenLatency, TokenGapBuckets, "Between consecutive generated tokens of a request.");
        _queueTime = Seconds(GlmMetrics.RequestQueueTime, RequestBuckets, "From submission to the request's first scheduled step.");
        _requestLatency = Seconds(GlmMetrics.RequestLatency, RequestBuckets, "From submission to the last token of a finished request.");
    }

    public void RecordTimeToFirstToken(double seconds) => _firstToken.Record(seconds, _model);

    public void RecordInterTokenLatency(double seconds) => _tokenGap.Record(seconds, _model);

    public void RecordQueueTime(double seconds) => _queueTime.Record(seconds, _model);

    public void RecordRequestLatency(double seconds) => _requestLatency.Record(seconds, _model);

    public void Dispose()
    {
        // A factory's meter belongs to the factory (disposed with its container); ours ends with the engine.
        if (_ownsMeter)
            _meter.Dispose();
    }

    private Measurement<T> Tagged<T>(T value) where T : struct => new(value, _model);

    private Histogram<double> Seconds(string name, double[] buckets, string description) =>
        _meter.CreateHistogram(name, "s", description, tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = buckets });
}
