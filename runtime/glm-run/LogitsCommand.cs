using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text;

namespace Glm.Onnx.RunCli;

/// <summary>
/// <c>glm-run logits --model DIR --input-ids 1,2,3 --output FILE.safetensors [--mtp]</c>: float32 logits
/// [tokens, vocab] of every prompt position, computed by the engine's prefill path, written as the safetensors tensor
/// "logits". With <c>--mtp</c> the file also holds the teacher-forced MTP draft logits "mtp_logits" [tokens-1, vocab]
/// (row i from h_i and token i+1, predicting token i+2) and the MTP layer's selection "mtp_topk_indices"
/// [tokens-1, index_topk] (int64, -1 padded; docs/architecture.md, "MTP").
/// </summary>
public static class LogitsCommand
{
    public static Command Create()
    {
        var model = new ModelArguments();
        var inputIds = new Option<string>("--input-ids") { Description = "comma-separated prompt token ids", Required = true };
        var output = new Option<string>("--output") { Description = "safetensors file to write", Required = true };
        var chunk = new Option<int?>("--chunk") { Description = "prefill at most this many tokens per step (default: one step)" };
        var mtp = new Option<bool>("--mtp") { Description = "also write the teacher-forced MTP draft logits (mtp_logits) and selection (mtp_topk_indices)" };
        var command = new Command("logits", "Write the logits of every prompt position to a safetensors file") { inputIds, output, chunk, mtp };
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
                int vocab = loaded.Executor.Info.VocabSize;
                var tensors = new List<Tensor> { new("logits", "F32", [ids.Length, vocab], MemoryMarshal.AsBytes(logits.AsSpan()).ToArray()) };
                if (parse.GetValue(mtp))
                {
                    // The engine is idle (its request finished), so the first blocks are free for this one sequence.
                    engine.Dispose();
                    var info = loaded.Executor.Info;
                    int blocks = (ids.Length + info.BlockSize - 1) / info.BlockSize;
                    if (blocks > info.NumBlocks)
                        throw new ArgumentException($"--input-ids: {ids.Length} tokens need {blocks} cache blocks, the cache has {info.NumBlocks}.");
                    var draft = Runtime.Drafting.TeacherForcedDraft.Run(loaded.Executor, ids, Enumerable.Range(0, blocks).ToArray());
                    tensors.Add(new("mtp_logits", "F32", [ids.Length - 1, vocab], MemoryMarshal.AsBytes(draft.DraftLogits.AsSpan()).ToArray()));
                    var topk = draft.DraftTopk.Select(i => (long)i).ToArray();
                    tensors.Add(new("mtp_topk_indices", "I64", [ids.Length - 1, draft.IndexTopK], MemoryMarshal.AsBytes(topk.AsSpan()).ToArray()));
                }
                Write(parse.GetValue(output)!, tensors);
                Console.Error.WriteLine($"wrote {string.Join(", ", tensors.Select(t => $"{t.Name} [{string.Join(", ", t.Shape)}]"))} to {parse.GetValue(output)}");
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

    private sealed record Tensor(string Name, string DType, int[] Shape, byte[] Data);

    /// <summary>safetensors: u64 header length, JSON header padded with spaces to 8 bytes, then the raw data.</summary>
    private static void Write(string path, IReadOnlyList<Tensor> tensors)
    {
        var entries = new List<string>();
        long offset = 0;
        foreach (var t in tensors)
        {
            entries.Add($"\"{t.Name}\":{{\"dtype\":\"{t.DType}\",\"shape\":[{string.Join(",", t.Shape)}],\"data_offsets\":[{offset},{offset + t.Data.Length}]}}");
            offset += t.Data.Length;
        }
        var header = "{" + string.Join(",", entries) + "}";
        int padded = (Encoding.UTF8.GetByteCount(header) + 7) / 8 * 8;
        header = header.PadRight(padded);
        using var stream = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BitConverter.TryWriteBytes(length, (ulong)padded);
        stream.Write(length);
        stream.Write(Encoding.UTF8.GetBytes(header));
        foreach (var t in tensors)
            stream.Write(t.Data);
    }
}
