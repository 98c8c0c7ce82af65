using System.Diagnostics;
using System.Globalization;
using Glm.Onnx.Converter.Onnx;
using Glm.Onnx.Runtime;
using Glm.Onnx.Runtime.Execution;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Glm.Onnx.DecodeBench;

/// <summary>
/// ONNX Runtime's fixed cost per graph node on this machine, without profiling (which adds its own per-node cost):
/// Run on a chain of N Add nodes against a chain of one, with the engine's own session options (SessionSettings:
/// explicit intra-op thread count, spinning off unless asked). (Run(N) - Run(1)) / (N - 1) is what one more node costs a step, kernel
/// and executor together. On a [1, 1024] row (a decode step's hidden row) the Add's arithmetic is well under a
/// microsecond, so that is the executor's own cost per node; a [1, 16384] row adds 16x the arithmetic (compare
/// intra-op threads 1 and 2, spinning on and off, to see what handing it to the pool costs). With <c>profile</c> the
/// sessions run with ONNX Runtime's profiler on, as <c>glm-run bench --profile</c> does: the difference is the
/// profiler's own cost per node, which its "time between kernels" includes.
/// </summary>
internal static class NodeOverhead
{
    public static int Run(string[] args)
    {
        int nodes = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 440;
        int runs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2000;
        int threads = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2;
        bool spin = args.Contains("spin"), profile = args.Contains("profile");
        if (nodes < 2 || runs < 1 || threads < 1)
            throw new ArgumentException("node-overhead: nodes >= 2, runs >= 1, threads >= 1");
        Console.WriteLine($"node overhead: chains of 1 and {nodes} Add nodes, {runs} Runs each, intra-op threads {threads}, " +
            $"spinning {(spin ? "on" : "off")}, profiler {(profile ? "on" : "off")}, load {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine("row_width  chain  run_us(median)  cpu_us/run  us/extra_node(wall)  us/extra_node(cpu)");
        foreach (var width in new[] { 1024, 16384 })
        {
            var one = Measure(width, 1, runs, threads, spin, profile);
            var many = Measure(width, nodes, runs, threads, spin, profile);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{width,9} {1,6}  {one.WallUs,14:F2}  {one.CpuUs,10:F2}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{width,9} {nodes,6}  {many.WallUs,14:F2}  {many.CpuUs,10:F2}  {(many.WallUs - one.WallUs) / (nodes - 1),19:F3}  {(many.CpuUs - one.CpuUs) / (nodes - 1),18:F3}"));
        }
        return 0;
    }

    private static (double WallUs, double CpuUs) Measure(int width, int nodes, int runs, int threads, bool spin, bool profile)
    {
        var g = new GraphBuilder("node-overhead");
        var x = g.Input("x", OnnxDataType.Float, 1, width);
        var c = g.Initializer(OnnxTensor.Float("c", [1, width], new float[width]));
        string h = x;
        for (int i = 0; i < nodes; i++)
            h = g.Op("Add", $"h{i}", [h, c]);
        g.Output(h, OnnxDataType.Float, 1, width);
        var model = new OnnxModel(g.Build(), [new OnnxOpset("", 19)], "decode-bench", "1").ToBytes();

        string? profilePrefix = profile ? Path.Combine(Path.GetTempPath(), $"decode-bench-node-overhead-{Environment.ProcessId}") : null;
        using var options = new SessionSettings(threads, spin, profilePrefix).Create(StageDevice.Cpu, 0);
        options.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR;
        using var session = new InferenceSession(model, options);
        using var input = OrtValue.CreateTensorValueFromMemory(new float[width], [1, width]);
        using var binding = session.CreateIoBinding();
        using var runOptions = new RunOptions();
        binding.BindInput("x", input);
        binding.BindOutputToDevice(h, OrtMemoryInfo.DefaultInstance);
        for (int i = 0; i < Math.Min(runs, 100); i++)
            session.RunWithBinding(runOptions, binding);
        var wall = new double[runs];
        var process = Process.GetCurrentProcess();
        process.Refresh();
        var cpu0 = process.TotalProcessorTime;
        for (int i = 0; i < runs; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            session.RunWithBinding(runOptions, binding);
            wall[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
        }
        process.Refresh();
        double cpuUs = (process.TotalProcessorTime - cpu0).TotalMicroseconds / runs;
        if (profile)
            File.Delete(session.EndProfiling());
        Array.Sort(wall);
        return (wall[runs / 2], cpuUs);
    }
}
