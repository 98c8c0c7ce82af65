using System.Diagnostics;
using Glm.Onnx.Converter.Conversion;
using Glm.Onnx.Converter.Graph;

namespace Glm.Onnx.ConvertCli;

/// <summary>
/// Conversion progress on the console: a redrawn bar (bytes and tensors done, rate, time left) when stderr is a
/// terminal, plain timestamped lines (per stage, and every 10 s) when it is redirected to a file or pipe.
/// </summary>
public sealed class ConsoleProgress : IConversionProgress
{
    private readonly bool _interactive = !Console.IsErrorRedirected;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _totalBytes, _doneBytes, _keptBytes;
    private int _totalTensors, _doneTensors;
    private TimeSpan _lastDraw = TimeSpan.FromDays(-1);

    public void Start(long totalBytes, int totalTensors)
    {
        _totalBytes = totalBytes;
        _totalTensors = totalTensors;
        Line($"converting {Size(totalBytes)} in {totalTensors} tensors");
    }

    public void StageKept(StageSpec stage, long sourceBytes, int tensors)
    {
        _doneBytes += sourceBytes;
        _keptBytes += sourceBytes;
        _doneTensors += tensors;
        Line($"stage {stage.Index} (layers {stage.FirstLayer}-{stage.EndLayer - 1}): kept from the interrupted run (checksums verified)");
    }

    public void StageStarted(StageSpec stage) =>
        Line($"stage {stage.Index} (layers {stage.FirstLayer}-{stage.EndLayer - 1}): writing");

    public void TensorDone(string name, long sourceBytes)
    {
        _doneBytes += sourceBytes;
        _doneTensors++;
        var now = _clock.Elapsed;
        var interval = _interactive ? TimeSpan.FromMilliseconds(200) : TimeSpan.FromSeconds(10);
        if (now - _lastDraw < interval) return;
        _lastDraw = now;
        if (_interactive) Console.Error.Write("\r" + Bar() + "\u001b[K");
        else Line(Bar());
    }

    public void StageFinished(StageSpec stage, IReadOnlyList<string> files) =>
        Line($"stage {stage.Index} done: {string.Join(", ", files)}");

    public void Message(string text) => Line(text);

    private string Bar()
    {
        double fraction = _totalBytes == 0 ? 1 : (double)_doneBytes / _totalBytes;
        int filled = (int)(fraction * 30);
        double seconds = Math.Max(_clock.Elapsed.TotalSeconds, 1e-3);
        double rate = (_doneBytes - _keptBytes) / seconds;
        string eta = rate > 0 ? TimeSpan.FromSeconds((_totalBytes - _doneBytes) / rate).ToString(@"hh\:mm\:ss") : "--:--:--";
        return $"[{new string('#', filled)}{new string('.', 30 - filled)}] {fraction,4:P0} {Size(_doneBytes)}/{Size(_totalBytes)} " +
               $"{_doneTensors}/{_totalTensors} tensors {Size((long)rate)}/s ETA {eta}";
    }

    private void Line(string text)
    {
        if (_interactive) Console.Error.Write("\r\u001b[K");
        Console.Error.WriteLine($"[{_clock.Elapsed:hh\\:mm\\:ss}] {text}");
    }

    public static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):F2} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):F1} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:F1} KiB",
        _ => $"{bytes} B",
    };
}
