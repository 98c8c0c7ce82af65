using Microsoft.AspNetCore.Http;

namespace Glm.Onnx.Server;

/// <summary>
/// Reads a request body into memory under the server's limits: a declared or actual size above the cap is 413
/// (before the excess is buffered), a body not received within the timeout is 408 (a slow client must not hold a
/// request slot forever).
/// </summary>
internal static class RequestBody
{
    public static async Task<ReadOnlyMemory<byte>> ReadAsync(HttpRequest request, GlmServerOptions options, CancellationToken cancellationToken)
    {
        long max = options.MaxRequestBodyBytes;
        if (request.ContentLength is { } declared && declared > max)
            throw TooLarge(max, declared);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.RequestBodyTimeout);
        var buffer = new MemoryStream(request.ContentLength is { } length ? (int)Math.Min(length, 1 << 20) : 4096);
        var chunk = new byte[16384];
        try
        {
            while (true)
            {
                int read = await request.Body.ReadAsync(chunk, timeout.Token).ConfigureAwait(false);
                if (read == 0)
                    break;
                if (buffer.Length + read > max)
                    throw TooLarge(max, null);
                buffer.Write(chunk, 0, read);
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new ApiError(408, $"The request body was not received within {options.RequestBodyTimeout.TotalSeconds:0.#} s.",
                code: "request_timeout");
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel's own limits (body size, minimum data rate) report their status code.
            throw FromKestrel(e);
        }

        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }

    public static ApiError FromKestrel(BadHttpRequestException e) => e.StatusCode switch
    {
        StatusCodes.Status413PayloadTooLarge => new ApiError(413, $"The request body is too large: {e.Message}", code: "request_too_large"),
        StatusCodes.Status408RequestTimeout => new ApiError(408, $"The request body arrived too slowly: {e.Message}", code: "request_timeout"),
        _ => new ApiError(e.StatusCode is >= 400 and < 500 ? e.StatusCode : 400, $"Bad request: {e.Message}"),
    };

    private static ApiError TooLarge(long max, long? declared) => new(413,
        $"The request body is {(declared is { } n ? $"{n} bytes" : "larger than the limit")}; this server accepts at most {max} bytes.",
        code: "request_too_large");
}
