using Glm.Onnx.DecodeBench;

// decode-bench convert <checkpoint> <output> <fp32|bf16|fp8>
// decode-bench bandwidth [MiB=1024] [repeats=9] [threads=cores]
// decode-bench profile <ort-profile.json>...
try
{
    return args switch
    {
        ["convert", var checkpoint, var output, var precision] => ConvertStep.Run(checkpoint, output, precision),
        ["bandwidth", .. var rest] => ReadBandwidth.Run(rest),
        ["profile", .. var files] when files.Length > 0 => ProfileSummary.Run(files),
        _ => Usage(),
    };
}
catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or System.Text.Json.JsonException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}

static int Usage()
{
    Console.Error.WriteLine("usage: decode-bench convert <checkpoint-dir> <output-dir> <fp32|bf16|fp8>");
    Console.Error.WriteLine("       decode-bench bandwidth [MiB=1024] [repeats=9] [threads=processor count]");
    Console.Error.WriteLine("       decode-bench profile <onnxruntime-profile.json>...");
    return 2;
}
