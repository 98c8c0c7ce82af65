using System.Diagnostics.Metrics;
using Glm.Onnx.Runtime.Engine;
using Glm.Onnx.Runtime.Telemetry;

namespace Glm.Onnx.Tests;

/// <summary>
/// Runs alone: every MeterListener enabled on the engine's instruments has its callback invoked on the recording
/// thread, so another test's listener that allocates (a list growing, a closure) would be counted here as this
/// thread's allocation.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsAllocationCollection
{
    public const string Name = "metrics allocation (serial)";
}

/// <summary>Recording latencies on the hot path allocates nothing, even while a listener collects them.</summary>
[Collection(MetricsAllocationCollection.Name)]
public sealed class EngineMetricsAllocationTests
{
    [Fact]
    public void RecordingLatenciesAllocatesNothingWhileAListenerCollects()
    {
        string model = "alloc-" + Guid.NewGuid().ToString("N")[..8];
        double sum = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == GlmMetrics.MeterName)
                l.EnableMeasurementEvents(instrument);
        };
        // Other tests' engines record on the same instruments from their threads: count only this model's.
        listener.SetMeasurementEventCallback<double>((_, v, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag.Key == GlmMetrics.ModelNameTag && tag.Value is string name && name == model)
                    sum += v;
        });
        listener.Start();
        using var metrics = new EngineMetrics(new EngineCounters(totalBlocks: 8), model);
        metrics.RecordInterTokenLatency(0.5); // first call: JIT and listener state
        metrics.RecordTimeToFirstToken(0.5);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            metrics.RecordInterTokenLatency(0.001);
            metrics.RecordTimeToFirstToken(0.001);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.InRange(sum, 1.0 + 19.9, 1.0 + 20.1); // the listener did see every measurement
    }
}
