namespace Glm.Onnx.Server;

/// <summary>
/// Bounds the completions requests in flight (reading, tokenizing, generating). A request over the bound gets 429
/// at once rather than a queue slot: every admitted request may buffer a body of up to the size cap, so the bound
/// caps the server's request memory, and a client told to retry can go to another replica.
/// </summary>
internal sealed class Admission(int limit)
{
    private readonly SemaphoreSlim _slots = new(limit, limit);

    public async Task RunAsync(Func<Task> handler)
    {
        if (!_slots.Wait(0))
            throw new ApiError(429, $"The server is handling its limit of {limit} concurrent requests; retry shortly.",
                code: "rate_limit_exceeded", type: "rate_limit_error");
        try
        {
            await handler().ConfigureAwait(false);
        }
        finally
        {
            _slots.Release();
        }
    }
}
