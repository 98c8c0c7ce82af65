using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Glm.Onnx.Server;

/// <summary>The server's own log lines: every 5xx with its cause (the engine logs each request's timings itself).</summary>
internal static partial class ServerLog
{
    public const string Category = "Glm.Onnx.Server";

    public static void Failed(HttpContext context, Exception error) =>
        GenerationFailed(Logger(context), context.Request.Method, context.Request.Path.Value ?? "", error.Message, error);

    public static void Refused(HttpContext context, ApiError error) =>
        Unavailable(Logger(context), error.Status, context.Request.Method, context.Request.Path.Value ?? "", error.Code ?? error.Type, error.Message);

    [LoggerMessage(EventId = 100, Level = LogLevel.Error, Message = "500 {Method} {Path}: generation failed: {Cause}")]
    private static partial void GenerationFailed(ILogger logger, string method, string path, string cause, Exception error);

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "{Status} {Method} {Path} ({Code}): {Cause}")]
    private static partial void Unavailable(ILogger logger, int status, string method, string path, string code, string cause);

    private static ILogger Logger(HttpContext context) =>
        context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(Category);
}
