using System.Globalization;
using System.Text.Json;

namespace Glm.Onnx.DecodeBench;

/// <summary>
/// Reads ONNX Runtime profile files (SessionOptions.EnableProfiling: a JSON array of trace events) and prints where
/// the run time goes: Run calls and their total, kernel time per operator type (share of all Run time), and the
/// most expensive nodes. Everything in the profile counts, prefill runs included.
/// Per operator type it also sums what the profiler records of the intra-op pool
/// (<c>args.thread_scheduling_stats.main_thread</c>): the parallel sections the calling thread opened, the time it ran
/// its own share of them, and the time it then waited for the pool's threads to finish theirs ("Wait"): work
/// imbalance, a late or slowed worker, and the section's teardown.
/// </summary>
internal static class ProfileSummary
{
    private const string KernelSuffix = "_kernel_time";

    public static int Run(string[] files)
    {
        var byOp = new Dictionary<string, (double Us, long Calls)>();
        var pool = new Dictionary<string, (long Sections, double RunUs, double WaitUs)>();
        var byNode = new Dictionary<string, double>();
        var runs = new List<double>();
        foreach (var file in files)
        {
            using var stream = File.OpenRead(file);
            using var doc = JsonDocument.Parse(stream);
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException($"{file}: expected a JSON array of trace events, found {doc.RootElement.ValueKind}.");
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                string cat = e.TryGetProperty("cat", out var c) ? c.GetString() ?? "" : "";
                string name = e.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "";
                double dur = e.TryGetProperty("dur", out var d) ? d.GetDouble() : 0;
                if (cat == "Session" && name == "model_run")
                    runs.Add(dur);
                else if (cat == "Node" && name.EndsWith(KernelSuffix, StringComparison.Ordinal))
                {
                    string op = e.TryGetProperty("args", out var a) && a.TryGetProperty("op_name", out var o) ? o.GetString() ?? "?" : "?";
                    var (us, calls) = byOp.GetValueOrDefault(op);
                    byOp[op] = (us + dur, calls + 1);
                    if (a.ValueKind == JsonValueKind.Object && a.TryGetProperty("thread_scheduling_stats", out var stats) &&
                        stats.ValueKind == JsonValueKind.Object && stats.TryGetProperty("main_thread", out var main) &&
                        main.ValueKind == JsonValueKind.Object)
                    {
                        var (sections, runUs, waitUs) = pool.GetValueOrDefault(op);
                        pool[op] = (sections + (main.TryGetProperty("block_size", out var b) && b.ValueKind == JsonValueKind.Array ? b.GetArrayLength() : 0),
                            runUs + Number(main, "Run"), waitUs + Number(main, "Wait"));
                    }
                    string node = name[..^KernelSuffix.Length];
                    byNode[node] = byNode.GetValueOrDefault(node) + dur;
                }
            }
        }
        if (runs.Count == 0)
            throw new InvalidDataException($"{string.Join(", ", files)}: no 'model_run' session events (was profiling enabled?).");

        double runTotal = runs.Sum(), kernelTotal = byOp.Values.Sum(v => v.Us);
        var sorted = runs.Order().ToArray();
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv,
            $"{runs.Count} Run calls, {runTotal / 1e3:F1} ms in Run (median {sorted[sorted.Length / 2] / 1e3:F2} ms), " +
            $"kernels {kernelTotal / 1e3:F1} ms = {100 * kernelTotal / runTotal:F1}% of Run (the rest: between kernels, mostly the profiler's own per-node cost: DecodeBench node-overhead)"));
        Console.WriteLine("op_type                      calls     total_ms   per_run_ms  %_of_Run  pool_sections  own_share_ms  wait_ms");
        foreach (var (op, (us, calls)) in byOp.OrderByDescending(kv => kv.Value.Us))
        {
            var (sections, runUs, waitUs) = pool.GetValueOrDefault(op);
            Console.WriteLine(string.Create(inv,
                $"{op,-26} {calls,7} {us / 1e3,12:F1} {us / 1e3 / runs.Count,12:F3} {100 * us / runTotal,9:F1}  {sections,13} {runUs / 1e3,13:F1} {waitUs / 1e3,8:F1}"));
        }
        var (allSections, allRun, allWait) = (pool.Values.Sum(v => v.Sections), pool.Values.Sum(v => v.RunUs), pool.Values.Sum(v => v.WaitUs));
        if (allSections > 0)
            Console.WriteLine(string.Create(inv,
                $"pool: {allSections} parallel sections ({(double)allSections / runs.Count:F1} per Run), the calling thread's own share {allRun / 1e3:F1} ms, " +
                $"its wait for the pool's threads {allWait / 1e3:F1} ms = {100 * allWait / runTotal:F1}% of Run ({allWait / allSections:F1} us per section)"));
        Console.WriteLine("top nodes                                          total_ms  %_of_Run");
        foreach (var (node, us) in byNode.OrderByDescending(kv => kv.Value).Take(12))
            Console.WriteLine(string.Create(inv, $"{node,-48} {us / 1e3,10:F1} {100 * us / runTotal,9:F1}"));
        return 0;
    }

    // A number property of a profiler stats object (absent: 0).
    private static double Number(JsonElement element, string name) =>
        element.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : 0;
}
