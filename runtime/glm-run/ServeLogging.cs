using Glm.Onnx.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Glm.Onnx.RunCli;

/// <summary>
/// <c>glm-run serve</c>'s log setup (everything on stderr, so stdout keeps only the "listening on" line scripts read)
/// and its startup lines: what is loading, then the banner operators check first (model, precision, devices, cache).
/// </summary>
internal static partial class ServeLogging
{
    public static Action<ILoggingBuilder> Configure(string format) => logging =>
    {
        logging.SetMinimumLevel(LogLevel.Information);
        // Kestrel's and ASP.NET Core's per-request lines would double ours; their warnings still show.
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        if (format == "json")
            logging.AddJsonConsole(o =>
            {
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.UseUtcTimestamp = true;
            });
        else
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.UseUtcTimestamp = true;
            });
        logging.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    };

    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "loading model '{ModelId}'; probes answer on {Addresses}")]
    private static partial void LoadingModel(ILogger logger, string modelId, string addresses);

    [LoggerMessage(EventId = 201, Level = LogLevel.Information,
        Message = "serving '{ModelId}' from {Directory}: {ModelType}, {Layers} layers in {Stages} stages, precision {Precision} " +
                  "(experts {ExpertPrecision}), devices {Devices}, intra-op threads {Threads} ({Spinning}), KV cache {Blocks} blocks x {BlockSize} " +
                  "tokens = {CacheTokens} tokens, {CacheMiB} MiB, max sequence {MaxSequence} tokens")]
    private static partial void Serving(ILogger logger, string modelId, string directory, string modelType, int layers, int stages,
        string precision, string expertPrecision, string devices, string threads, string spinning, int blocks, int blockSize, long cacheTokens,
        long cacheMiB, int maxSequence);

    public static void Loading(ILogger logger, string id, IReadOnlyList<string> addresses) =>
        LoadingModel(logger, id, string.Join(", ", addresses));

    public static void Banner(ILogger logger, string id, GlmModel model, string[]? devices, int threads)
    {
        var manifest = model.Manifest;
        var cache = model.Cache;
        Serving(logger, id, model.Directory, manifest.ModelType, manifest.Dimensions.NumHiddenLayers, manifest.Stages.Count,
            manifest.Precision.Target, manifest.Precision.Experts, devices is { Length: > 0 } ? string.Join(",", devices) : "cpu",
            threads > 0 ? threads.ToString(System.Globalization.CultureInfo.InvariantCulture) : "default", model.Spinning.Reason,
            cache.NumBlocks, cache.BlockSize, (long)cache.NumBlocks * cache.BlockSize, cache.TotalBytes >> 20,
            manifest.Dimensions.MaxPositionEmbeddings);
    }
}
