using Glm.Onnx.DecodeBench;

// decode-bench bandwidth [MiB=1024] [repeats=9] [threads=cores] [huge-pages|small-pages]
// decode-bench profile <ort-profile.json>...
// decode-bench node-overhead [nodes=440] [runs=2000] [threads=2] [spin] [profile]
// decode-bench verify --model DIR [--context 128] [--k 1,2,3,4] [--concurrency 1,8] [--repeats 15] [--threads 0]
try
{
    return args switch
    {
        ["bandwidth", .. var rest] => ReadBandwidth.Run(rest),
        ["profile", .. var files] when files.Length > 0 => ProfileSummary.Run(files),
        ["verify", .. var rest] => VerifyCost.Run(rest),
        ["node-overhead", .. var rest] => NodeOverhead.Run(rest),
        _ => Usage(),
    };
}
catch (Exception e) when (e is ArgumentException or FormatException or IOException or InvalidDataException or System.Text.Json.JsonException or NotSupportedException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}

static int Usage()
{
    Console.Error.WriteLine("usage: decode-bench bandwidth [MiB=1024] [repeats=9] [threads=processor count] [huge-pages|small-pages]");
    Console.Error.WriteLine("       decode-bench profile <onnxruntime-profile.json>...");
    Console.Error.WriteLine("       decode-bench node-overhead [nodes=440] [runs=2000] [threads=2] [spin] [profile]");
    Console.Error.WriteLine("       decode-bench verify --model DIR [--context 128] [--k 1,2,3,4] [--concurrency 1,8] [--repeats 15] [--threads 0]");
    return 2;
}
