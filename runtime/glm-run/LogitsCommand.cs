using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text;

namespace Glm.Onnx.RunCli;

/// <summary>
/// <c>glm-run logits --model DIR --input-ids 1,2,3 --output FILE.safetensors</c>: float32 logits [tokens, vocab] of
/// every prompt position, computed by the engine's prefill path, written as one safetensors tensor "logits".
/// </summary>
public static class LogitsCommand
{
    public static Command Create()
    {
        var model = new ModelArguments();
        var inputIds = new Option<string>("--input-ids") { Description = "comma-separated prompt token ids", Required = true };
        var output = new Option<string>("--output") { Description = "safetensors file to write", Required = true };
        var chunk = new Option<int?>("--chunk") { Description = "prefill at most this many tokens per step (default: one step)" };
        var command = new Command("logits", "Write the logits of every prompt position to a safetensors file") { inputIds, output, chunk };
        model.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                var ids = ModelArguments.ParseIds(parse.GetValue(inputIds)!, "--input-ids");
                using var loaded = model.Load(parse);
                int budget = parse.GetValue(chunk) ?? Math.Max(ids.Length, 1);
                using var engine = loaded.CreateEngine(new Runtime.Scheduling.SchedulerOptions(MaxTokensPerStep: budget, EnablePrefixCaching: false));
                var logits = await engine.ComputePromptLogitsAsync(ids, ct);
                Write(parse.GetValue(output)!, logits, ids.Length, loaded.Executor.Info.VocabSize);
                Console.Error.WriteLine($"wrote logits [{ids.Length}, {loaded.Executor.Info.VocabSize}] to {parse.GetValue(output)}");
                return 0;
            }
            catch (Exception e) when (CliErrors.IsExpected(e))
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    /// <summary>safetensors: u64 header length, JSON header padded with spaces to 8 bytes, then the raw data.</summary>
    private static void Write(string path, float[] logits, int tokens, int vocab)
    {
        long bytes = (long)logits.Length * sizeof(float);
        var header = $"{{\"logits\":{{\"dtype\":\"F32\",\"shape\":[{tokens},{vocab}],\"data_offsets\":[0,{bytes}]}}}}";
        int padded = (Encoding.UTF8.GetByteCount(header) + 7) / 8 * 8;
        header = header.PadRight(padded);
        using var stream = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BitConverter.TryWriteBytes(length, (ulong)padded);
        stream.Write(length);
        stream.Write(Encoding.UTF8.GetBytes(header));
        stream.Write(MemoryMarshal.AsBytes(logits.AsSpan()));
    }
}
