using Glm.Onnx.DecodeBench;

// decode-bench bandwidth [MiB=1024] [repeats=9] [threads=cores] [huge-pages|small-pages]
// decode-bench profile <ort-profile.json>...
try
{
    return args switch
    {
        ["bandwidth", .. var rest] => ReadBandwidth.Run(rest),
        ["profile", .. var files] when files.Length > 0 => ProfileSummary.Run(files),
        _ => Usage(),
    };
}
catch (Exception e) when (e is ArgumentException or FormatException or IOException or InvalidDataException or System.Text.Json.JsonException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}

static int Usage()
{
    Console.Error.WriteLine("usage: decode-bench bandwidth [MiB=1024] [repeats=9] [threads=processor count] [huge-pages|small-pages]");
    Console.Error.WriteLine("       decode-bench profile <onnxruntime-profile.json>...");
    return 2;
}
