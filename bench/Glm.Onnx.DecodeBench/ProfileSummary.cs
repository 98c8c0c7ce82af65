using System.Globalization;
using System.Text.Json;

namespace Glm.Onnx.DecodeBench;

/// <summary>
/// Reads ONNX Runtime profile files (SessionOptions.EnableProfiling: a JSON array of trace events) and prints where
/// the run time goes: Run calls and their total, kernel time per operator type (share of all Run time), and the
/// most expensive nodes. Everything in the profile counts, prefill runs included.
/// </summary>
internal static class ProfileSummary
{
    private const string KernelSuffix = "_kernel_time";

    public static int Run(string[] files)
    {
        var byOp = new Dictionary<string, (double Us, long Calls)>();
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
        Console.WriteLine("op_type                      calls     total_ms   per_run_ms  %_of_Run");
        foreach (var (op, (us, calls)) in byOp.OrderByDescending(kv => kv.Value.Us))
            Console.WriteLine(string.Create(inv,
                $"{op,-26} {calls,7} {us / 1e3,12:F1} {us / 1e3 / runs.Count,12:F3} {100 * us / runTotal,9:F1}"));
        Console.WriteLine("top nodes                                          total_ms  %_of_Run");
        foreach (var (node, us) in byNode.OrderByDescending(kv => kv.Value).Take(12))
            Console.WriteLine(string.Create(inv, $"{node,-48} {us / 1e3,10:F1} {100 * us / runTotal,9:F1}"));
        return 0;
    }
}
